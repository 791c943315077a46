using Kannon.Mailer;

namespace Kannon.Tests.Mailer;

public sealed class RecipientScreenTests
{
    [Fact]
    public void A_repeated_address_is_collapsed_into_its_first_occurrence_whatever_its_case_and_spaces()
    {
        var screen = new RecipientScreen(8);
        string?[] admitted =
        [
            screen.Admit("ann@example.org"),
            screen.Admit(" ANN@Example.ORG "),
            screen.Admit("Élise@bücher.example"),
            screen.Admit("éLISE@BÜCHER.example"),
            screen.Admit("bob@example.org"),
            screen.Admit("not an address"),
            screen.Admit("ann@example.org"),
        ];

        admitted.Should().Equal("ann@example.org", null, "Élise@bücher.example", null, "bob@example.org", null, null);
        screen.Rejected.Should().ContainSingle().Which.Should().Be(new RejectedRecipient("not an address", RecipientScreen.InvalidEmail));
    }

    [Fact]
    public void Addresses_that_differ_are_all_admitted()
    {
        var screen = new RecipientScreen(100_000);

        var admitted = Enumerable.Range(0, 100_000).Count(i => screen.Admit($"user{i}@example.org") is not null);

        admitted.Should().Be(100_000);
    }

    [Fact]
    public void A_screen_after_a_disposed_one_remembers_nothing_of_it_and_a_disposed_screen_admits_nothing()
    {
        // Large enough that the first screen's set is kept and reused by the next (ADR 0026).
        var first = new RecipientScreen(10_000);
        first.Admit("ann@example.org").Should().Be("ann@example.org");
        first.Admit("not an address");
        first.Dispose();
        first.Dispose();

        var second = new RecipientScreen(10_000);

        second.Admit("ANN@example.org").Should().Be("ANN@example.org");
        second.Admit("ann@example.org").Should().BeNull();
        first.Rejected.Should().ContainSingle("what a screen rejected stays readable after it is disposed");
        var admit = () => first.Admit("bob@example.org");
        admit.Should().Throw<ObjectDisposedException>();
        second.Dispose();
    }
}
