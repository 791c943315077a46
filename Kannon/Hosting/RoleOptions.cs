using System.CommandLine;

namespace Kannon.Hosting;

/// <summary>The role flags. <c>--run-verifier</c> and <c>--run-bounce</c> are the original's names.</summary>
internal sealed class RoleOptions
{
    public Option<bool> Api { get; } = new("--run-api") { Description = "gRPC API: Mailer, Admin, Stats (api.port)" };

    public Option<bool> Smtp { get; } = new("--run-smtp") { Description = "inbound SMTP server for bounces (smtp.address)" };

    public Option<bool> Sender { get; } = new("--run-sender") { Description = "delivers envelopes to recipients' MX over SMTP (no database)" };

    public Option<bool> Dispatcher { get; } = new("--run-dispatcher") { Description = "builds, signs and queues due deliveries; applies outcomes" };

    public Option<bool> Validator { get; } = new("--run-validator", "--run-verifier") { Description = "validates recipient addresses" };

    public Option<bool> Stats { get; } = new("--run-stats") { Description = "records every outcome for the Stats API" };

    public Option<bool> Tracker { get; } = new("--run-tracker", "--run-bounce") { Description = "open pixel and click redirects (http.port)" };

    public Option<bool> All { get; } = new("--run-all") { Description = "every role in one process" };

    public IEnumerable<Option<bool>> Flags => [Api, Smtp, Sender, Dispatcher, Validator, Stats, Tracker, All];

    public Roles Read(ParseResult parse)
    {
        if (parse.GetValue(All))
        {
            return Roles.All;
        }

        return new Roles(
            Api: parse.GetValue(Api),
            Smtp: parse.GetValue(Smtp),
            Sender: parse.GetValue(Sender),
            Dispatcher: parse.GetValue(Dispatcher),
            Validator: parse.GetValue(Validator),
            Stats: parse.GetValue(Stats),
            Tracker: parse.GetValue(Tracker));
    }
}
