using Kannon.Stats;
using StatsEvent = Kannon.Protos.Stats.Types.Stats;

namespace Kannon.Tests.Stats;

/// <summary>
/// <c>unsubscribed</c> has no member in the original's <c>StatsData</c> oneof: the event names itself in
/// <c>type</c> and carries empty data, and only that combination is read as unsubscribed.
/// </summary>
public sealed class UnsubscribedOutcomeTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void An_unsubscribed_event_becomes_an_unsubscribed_row_with_empty_data()
    {
        var stat = Outcomes.Unsubscribed("msg_1@example.com", "ann@example.org", "example.com", At);

        var row = StatsMapping.ToRow(stat, At, out var problem);

        problem.Should().BeNull();
        Outcomes.TypeOf(stat).Should().Be(StatTypes.Unsubscribed);
        row!.Type.Should().Be("unsubscribed");
        row.Data.Should().Be("{ }");
        row.Email.Should().Be("ann@example.org");
        StatsMapping.ToProto(row).Type.Should().Be("unsubscribed");
    }

    [Fact]
    public void An_event_without_data_is_still_refused_unless_its_type_is_unsubscribed()
    {
        var untyped = new StatsEvent { MessageId = "msg_1@example.com", Email = "ann@example.org", Domain = "example.com" };
        var claimsOpened = new StatsEvent { MessageId = "msg_1@example.com", Email = "ann@example.org", Domain = "example.com", Type = "opened" };

        StatsMapping.ToRow(untyped, At, out var problem).Should().BeNull();
        problem.Should().Contain("unknown outcome type");
        StatsMapping.ToRow(claimsOpened, At, out var openedProblem).Should().BeNull("a type without its data is not an opened event");
        openedProblem.Should().Contain("unknown outcome type");
    }
}
