using Kannon.Hosting;
using Kannon.Hosting.Embedded;
using Kannon.Smtp;
using Kannon.Tests.Infrastructure;
using MailKit.Net.Smtp;
using Microsoft.Extensions.DependencyInjection;

namespace Kannon.Tests.Smtp;

/// <summary>A report is never accepted and then lost: while NATS or PostgreSQL is away the answer is a 4xx, and the remote server retries.</summary>
public sealed class BounceReceiverOutageTests(PostgresFixture postgres, NatsFixture nats)
    : IClassFixture<PostgresFixture>, IClassFixture<NatsFixture>
{
    [Fact]
    public async Task While_nats_is_down_a_report_gets_451_and_its_retry_is_recorded_once()
    {
        await using var smtp = await SmtpHarness.StartAsync(postgres, nats);
        const string recipient = "ann@example.org";
        var returnPath = smtp.ReturnPath(recipient);
        var report = DeliveryReportMessages.Dsn(returnPath, recipient, "failed", "5.1.1", "smtp; 550 5.1.1 user unknown", boundary: "same");

        await nats.Server.StopAsync();
        try
        {
            var send = () => smtp.SendAsync(report, returnPath);
            var deferred = (await send.Should().ThrowAsync<SmtpCommandException>()).Which;
            deferred.ErrorCode.Should().Be(SmtpErrorCode.MessageNotAccepted);
            ((int)deferred.StatusCode).Should().Be(451);
            deferred.Message.Should().Contain("4.3.0");
        }
        finally
        {
            await nats.Server.StartAsync(CancellationToken.None);
        }

        // The remote server retries until it gets its 250; a copy that did reach the stream is not stored twice.
        await Eventually.HoldsAsync(async () =>
        {
            try
            {
                await smtp.SendAsync(report, returnPath);
                return true;
            }
            catch (SmtpCommandException e) when ((int)e.StatusCode == 451)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60), "the retried report is accepted once NATS is back");
        await smtp.SendAsync(report, returnPath);
        var marker = smtp.ReturnPath("marker@example.org");
        await smtp.SendAsync(DeliveryReportMessages.Dsn(marker, "marker@example.org", "failed", "5.1.1", "smtp; 550 5.1.1 no"), marker);
        await smtp.OutcomesAsync(s => s.Email == "marker@example.org");

        (await smtp.OutcomesAsync()).Where(o => o.Event.Email == recipient).Should().ContainSingle();
    }

    [Fact]
    public async Task While_the_database_is_unreachable_a_return_path_gets_451_at_RCPT()
    {
        var settings = KannonTestHost.BaseSettings($"postgres://kannon:kannon@127.0.0.1:{FreePort.Next()}/kannon", nats.Url);
        await using var host = await KannonTestHost.StartAsync(new Roles(Smtp: true), settings);
        var endpoint = await host.Services.GetRequiredService<SmtpListener>().Started.WaitAsync(TimeSpan.FromSeconds(10));

        await using var session = await RawSmtpSession.ConnectAsync(endpoint);
        await session.CommandAsync("EHLO mx.example.net");
        (await session.CommandAsync("MAIL FROM:<>")).Should().StartWith("250");
        (await session.CommandAsync($"RCPT TO:<{host.Services.GetRequiredService<Kannon.Envelopes.ReturnPathSigner>().ReturnPath("ann@example.org", "msg_1@known.example.com")}>"))
            .Should().StartWith("451 4.3.0");
        (await session.CommandAsync("RCPT TO:<someone@example.com>")).Should().StartWith("550 5.1.1", "what is no return path needs no database to refuse");
    }
}
