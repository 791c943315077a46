using Kannon.Hosting;
using Kannon.Protos.Mailer.ApiV1;
using Kannon.Protos.Mailer.Types;
using Kannon.Tests.EndToEnd;
using Kannon.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace Kannon.Tests.Lifecycle;

public sealed class GracefulShutdownTests(PostgresFixture postgres, ITestOutputHelper output) : IClassFixture<PostgresFixture>
{
    [Fact]
    public async Task A_sender_stopped_with_sigterm_mid_batch_and_restarted_delivers_every_message_exactly_once()
    {
        await using var harness = await SendPathHarness.StartAsync(postgres, roles: new Roles(Api: true, Validator: true, Dispatcher: true, Stats: true));
        var senderEnv = harness.EnvironmentFor();
        var request = new SendHTMLReq { Sender = harness.Sender(), Subject = "s", Html = "<html><body><p>Hello {{ n }}</p></body></html>" };
        for (var i = 0; i < 500; i++)
        {
            request.Recipients.Add(new Recipient { Email = $"r{i}@{SendPathHarness.RecipientDomain}", Fields = { ["n"] = $"{i}" } });
        }

        var first = KannonProcess.Start(["--run-sender"], senderEnv);
        var response = await harness.Mailer.SendHTMLAsync(request);
        await Eventually.HoldsAsync(() => Task.FromResult(harness.Receiver.Received >= 50 || first.HasExited), TimeSpan.FromSeconds(90), "the first sender is delivering");
        var atStop = harness.Receiver.Received;
        first.Terminate();
        var code = await first.WaitForExitAsync(TimeSpan.FromSeconds(60));
        var afterStop = harness.Receiver.Received;
        output.WriteLine($"SIGTERM after {atStop} messages; {afterStop - atStop} more finished while draining; exit code {code}");
        code.Should().Be(0, first.Output);
        await first.DisposeAsync();

        await using var second = KannonProcess.Start(["--run-sender"], senderEnv);
        await Eventually.HoldsAsync(async () => await harness.PoolCountAsync(response.MessageId) == 0, TimeSpan.FromSeconds(120), "every Delivery ends after the restart");

        var recipients = harness.Receiver.Messages.SelectMany(m => m.To).ToList();
        recipients.Should().HaveCount(500).And.OnlyHaveUniqueItems("nothing is sent twice across a graceful stop");
    }

}
