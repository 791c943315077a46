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
}
