using Google.Protobuf.WellKnownTypes;
using Kannon.Hosting;
using Kannon.Messaging;
using Kannon.Suppression;
using Kannon.Tests.Infrastructure;
using Kannon.Tests.Smtp;
using Microsoft.Extensions.DependencyInjection;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Npgsql;
using Bounce = Kannon.Protos.Bounce.Types.Bounce;
using BounceKind = Kannon.Protos.Bounce.Types.BounceKind;

namespace Kannon.Tests.Suppression;

/// <summary>A report is never accepted and then dropped: with <c>kannon-bounce</c> full the SMTP server answers 4xx, and the retry lands once there is room.</summary>
public sealed class BounceStreamFullTests(PostgresFixture postgres, NatsFixture nats)
    : IClassFixture<PostgresFixture>, IClassFixture<NatsFixture>
{
    [Fact]
    public async Task With_kannon_bounce_full_a_dsn_gets_451_and_is_accepted_and_suppresses_once_space_frees_up()
    {
        await using var smtp = await SmtpHarness.StartAsync(postgres, nats);
        await using var connection = new NatsConnection(NatsOpts.Default with { Url = nats.Url });
        var jetStream = new NatsJSContext(connection);

        // One message fills the stream; nothing consumes it while only the SMTP role runs.
        var stream = await jetStream.GetStreamAsync(Topology.BounceStream);
        var config = stream.Info.Config;
        var maxMessages = config.MaxMsgs;
        config.MaxMsgs = 1;
        await jetStream.UpdateStreamAsync(config);
        var filler = new Bounce
        {
            MessageId = smtp.BatchId, Email = "filler@example.org", Domain = smtp.Domain, Kind = BounceKind.Dsn,
            Action = "delayed", Status = "4.4.1", ArrivedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        };
        await new EventPublisher(jetStream).PublishAsync(Subjects.Bounce, filler, "filler:" + Guid.NewGuid().ToString("N"), CancellationToken.None);

        const string recipient = "ann@example.org";
        var returnPath = smtp.ReturnPath(recipient);
        var report = DeliveryReportMessages.Dsn(returnPath, recipient, "failed", "5.1.1", "smtp; 550 5.1.1 user unknown");

        var refused = await ReportSession.SendAsync(smtp.Endpoint, returnPath, report);

        refused.Should().StartWith("451", "the remote server must keep the report and retry");
        (await smtp.OutcomesAsync()).Should().BeEmpty("nothing of a refused report is recorded, not even its stat");

        // The consumers catch up: the Dispatcher and the Stats worker take the filler, and the stream has room again.
        config.MaxMsgs = maxMessages;
        await jetStream.UpdateStreamAsync(config);
        await using var workers = await KannonTestHost.StartAsync(new Roles(Dispatcher: true, Stats: true), SettingsLike(smtp));
        await Eventually.HoldsAsync(async () => (await jetStream.GetStreamAsync(Topology.BounceStream)).Info.State.Messages == 0,
            TimeSpan.FromSeconds(30), "the filler is consumed");

        var accepted = await ReportSession.SendAsync(smtp.Endpoint, returnPath, report);

        accepted.Should().StartWith("250");
        var list = new SuppressionList(smtp.Host.Services.GetRequiredService<NpgsqlDataSource>());
        var suppressed = await Eventually.ReturnsAsync(() => list.FindAsync(smtp.Domain, recipient, CancellationToken.None), s => s is not null,
            TimeSpan.FromSeconds(30), "the retried report suppresses the address");
        suppressed!.Reason.Should().Be(SuppressionReason.HardBounce);
        (await list.FindAsync(smtp.Domain, "filler@example.org", CancellationToken.None)).Should().BeNull("a delayed report never suppresses");
        await Eventually.HoldsAsync(async () => await BouncedStatsAsync(smtp, recipient) == 1, TimeSpan.FromSeconds(30), "the stat is recorded too");
        (await BouncedStatsAsync(smtp, recipient)).Should().Be(1, "once");
    }

    [Fact]
    public async Task A_report_sent_twice_is_one_event_and_one_stat()
    {
        await using var smtp = await SmtpHarness.StartAsync(postgres, nats);
        await BounceStreamReader.KeepEventsAsync(nats.Url);
        const string recipient = "twice@example.org";
        var returnPath = smtp.ReturnPath(recipient);
        var report = DeliveryReportMessages.Dsn(returnPath, recipient, "failed", "5.1.1", "smtp; 550 5.1.1 user unknown");

        (await ReportSession.SendAsync(smtp.Endpoint, returnPath, report)).Should().StartWith("250");
        (await ReportSession.SendAsync(smtp.Endpoint, returnPath, report)).Should().StartWith("250");

        (await BounceStreamReader.ReadAsync(nats.Url)).Where(e => e.Event.Email == recipient).Should().ContainSingle()
            .Which.MsgId.Should().StartWith("report:");
        (await smtp.OutcomesAsync()).Where(o => o.Event.Email == recipient).Should().ContainSingle();
    }

    private static async Task<long> BouncedStatsAsync(SmtpHarness smtp, string recipient)
    {
        await using var command = smtp.Host.Services.GetRequiredService<NpgsqlDataSource>()
            .CreateCommand("SELECT count(*) FROM stats WHERE type = 'bounced' AND message_id = $1 AND email = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = smtp.BatchId });
        command.Parameters.Add(new NpgsqlParameter { Value = recipient });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private Dictionary<string, string?> SettingsLike(SmtpHarness smtp) => KannonTestHost.BaseSettings(postgres.ConnectionString, smtp.NatsUrl);
}
