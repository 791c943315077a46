using Kannon.Cli;

namespace Kannon.Tests.Cli;

public sealed class CliFormatTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("30d", "2026-12-31T12:00:00Z")]
    [InlineData("12h", "2026-12-02T00:00:00Z")]
    [InlineData("90m", "2026-12-01T13:30:00Z")]
    [InlineData("2w", "2026-12-15T12:00:00Z")]
    [InlineData("2027-01-01T00:00:00Z", "2027-01-01T00:00:00Z")]
    [InlineData("2027-01-01", "2027-01-01T00:00:00Z")]
    [InlineData("2027-01-01T02:00:00+02:00", "2027-01-01T00:00:00Z")]
    public void An_expiry_is_a_utc_moment_or_a_duration_from_now(string text, string expected) =>
        CliFormat.Moment("--expires", text, Now, past: false).Should().Be(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public void A_since_duration_counts_back_from_now() =>
        CliFormat.Moment("--since", "24h", Now, past: true).Should().Be(Now.AddDays(-1));

    [Theory]
    [InlineData("soon")]
    [InlineData("30x")]
    [InlineData("-5d")]
    public void Anything_else_is_refused_naming_the_option(string text) =>
        FluentActions.Invoking(() => CliFormat.Moment("--expires", text, Now, past: false))
            .Should().Throw<CliException>().WithMessage($"--expires: '{text}' is neither*");

    [Fact]
    public void A_txt_value_is_split_into_strings_of_at_most_255_characters()
    {
        var value = DomainCommands.DkimValue(new string('A', 392));

        var parts = DomainCommands.TxtStrings(value);

        parts.Should().HaveCount(2);
        parts[0].Should().HaveLength(255);
        string.Concat(parts).Should().Be(value);
    }

    [Fact]
    public void A_table_pads_every_column_but_the_last()
    {
        var table = CliFormat.Table(["ID", "NAME"], [["key_1", "a"], ["k", "longer"]]);

        table.Should().Be("ID     NAME\nkey_1  a\nk      longer\n");
    }

    [Theory]
    [InlineData("127.0.0.1:50051", "http://127.0.0.1:50051/")]
    [InlineData("http://kannon.internal:50051", "http://kannon.internal:50051/")]
    [InlineData("https://kannon.example.com", "https://kannon.example.com/")]
    public void An_address_without_a_scheme_is_http(string text, string expected) =>
        CliConnection.ParseAddress(text).ToString().Should().Be(expected);

    [Fact]
    public void A_bad_address_is_refused_naming_the_flag() =>
        FluentActions.Invoking(() => CliConnection.ParseAddress("ftp://x"))
            .Should().Throw<CliException>().WithMessage("--api: 'ftp://x' is not an address*");
}
