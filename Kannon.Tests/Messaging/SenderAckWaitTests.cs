using Kannon.Hosting;
using Kannon.Hosting.Configuration;
using Kannon.Messaging;
using Microsoft.Extensions.Configuration;

namespace Kannon.Tests.Messaging;

public sealed class SenderAckWaitTests
{
    [Fact]
    public void The_senders_consumer_waits_sender_ack_wait_and_backs_off_in_steps_of_it()
    {
        var options = KannonConfiguration.Build(configFile: null, new Dictionary<string, string?> { ["sender_ack_wait"] = "10s" }).Get<KannonOptions>()!;
        options.SenderAckWait.Should().Be(TimeSpan.FromSeconds(10));

        var sender = Topology.ConsumersFor(options.SenderAckWait).Single(c => c.Config.Name == Topology.SenderConsumer).Config;
        sender.AckWait.Should().Be(TimeSpan.FromSeconds(10));
        sender.Backoff.Should().Equal(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(30));
        Topology.Consumers.Single(c => c.Config.Name == Topology.SenderConsumer).Config.AckWait.Should().Be(TimeSpan.FromMinutes(5), "the default");
    }

    [Fact]
    public void A_sender_ack_wait_under_a_second_is_refused()
    {
        new KannonOptions { SenderAckWait = TimeSpan.FromMilliseconds(500) }.Validate()
            .Should().ContainSingle().Which.Should().StartWith("sender_ack_wait");
    }
}
