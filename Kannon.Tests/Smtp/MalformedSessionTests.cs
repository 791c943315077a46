using System.Diagnostics;
using Kannon.Tests.Infrastructure;

namespace Kannon.Tests.Smtp;

/// <summary>A peer that connects and says nothing is not kept forever. (The thousand malformed sessions are in Reliability/SmtpFuzzTests.)</summary>
public sealed class MalformedSessionTests(PostgresFixture postgres, NatsFixture nats)
    : IClassFixture<PostgresFixture>, IClassFixture<NatsFixture>, IAsyncLifetime
{
    private const int MaxPayload = 65536;

    private SmtpHarness _smtp = null!;

    public async Task InitializeAsync() => _smtp = await SmtpHarness.StartAsync(postgres, nats, new Dictionary<string, string?>
    {
        ["smtp:max_payload"] = MaxPayload.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["smtp:read_timeout"] = "2s",
    });

    public async Task DisposeAsync() => await _smtp.DisposeAsync();

    [Fact]
    public async Task An_idle_session_is_closed_after_the_read_timeout()
    {
        await using var session = await RawSmtpSession.ConnectAsync(_smtp.Endpoint);
        await session.CommandAsync("EHLO mx.example.net");
        var watch = Stopwatch.StartNew();

        var last = await session.ReplyAsync(TimeSpan.FromSeconds(30));
        while (last.Length > 0)
        {
            last = await session.ReplyAsync(TimeSpan.FromSeconds(30));
        }

        watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(15), "smtp.read_timeout is 2s");
    }
}
