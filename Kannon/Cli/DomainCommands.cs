using System.CommandLine;
using System.Text;
using Kannon.Dkim;
using Kannon.Domains;
using Kannon.Protos.Admin.ApiV1;
using Kannon.Protos.Tracking.Types;
using ProtoDomain = Kannon.Protos.Admin.ApiV1.Domain;

namespace Kannon.Cli;

/// <summary><c>kannon domain create|list|show|unsubscribe</c>: sending domains, the DNS records each needs, its unsubscribe setting.</summary>
internal static class DomainCommands
{
    /// <summary>The most characters one string of a TXT record holds (RFC 1035 character-string).</summary>
    public const int TxtStringLength = 255;

    public static Command Build()
    {
        var command = new Command("domain", "Sending domains: create one, list them, show one with the DNS records to publish");
        command.Subcommands.Add(Create());
        command.Subcommands.Add(List());
        command.Subcommands.Add(Show());
        command.Subcommands.Add(Unsubscribe());
        return command;
    }

    /// <summary>The DKIM TXT value split into strings of at most 255 characters, as a zone file or DNS API wants them.</summary>
    public static IReadOnlyList<string> TxtStrings(string value)
    {
        var parts = new List<string>();
        for (var i = 0; i < value.Length; i += TxtStringLength)
        {
            parts.Add(value.Substring(i, Math.Min(TxtStringLength, value.Length - i)));
        }

        return parts;
    }

    public static string DkimValue(string publicKey) => $"v=DKIM1; k=rsa; p={publicKey}";

    /// <summary>The records a domain needs (DKIM), should have (SPF, DMARC), and the bounce MX note.</summary>
    public static string DnsRecords(ProtoDomain domain)
    {
        var name = domain.Domain_;
        var dkimName = $"{DkimKeyGenerator.DefaultSelector}._domainkey.{name}";
        var dkim = DkimValue(domain.DkimPubKey);
        var quoted = string.Join(' ', TxtStrings(dkim).Select(s => $"\"{s}\""));
        var text = new StringBuilder();
        text.Append($"""
            DNS records to publish for {name}:

            1. DKIM (required): receivers check Kannon's signatures against this key.
               name:  {dkimName}
               type:  TXT
               value: {dkim}
               zone file (one TXT string holds at most {TxtStringLength} characters, so the value is split):
               {dkimName}. 3600 IN TXT {quoted}

            2. SPF (suggested): which hosts may send mail for {name}.
               name:  {name}
               type:  TXT
               value: v=spf1 a mx ~all
               Add the hosts that send for it before ~all: each host running `kannon --run-sender`
               (ip4:203.0.113.7) or your relay's include:. Merge with an SPF record {name} already has.

            3. DMARC (suggested): what receivers do with mail that fails SPF and DKIM, and where they report it.
               name:  _dmarc.{name}
               type:  TXT
               value: v=DMARC1; p=none; rua=mailto:dmarc@{name}

            4. Bounces: Kannon's return path is bump_…@{name}, so bounces are delivered to {name}'s MX.
               Point it at the host running `kannon --run-smtp`:
               {name}. 3600 IN MX 10 <the --run-smtp host>.
               If {name} already receives mail elsewhere, send from a subdomain instead
               (`kannon domain create mail.{name}`) and point that subdomain's MX at the --run-smtp host.

            """);
        return text.ToString();
    }

    internal static string ModeName(TrackingMode mode) => mode switch
    {
        TrackingMode.Unspecified => "-",
        _ => mode.ToString().ToLowerInvariant(),
    };

    private static Command Create()
    {
        var connection = new CliConnection();
        var name = new Argument<string>("domain") { Description = "the sending domain, lower-case (mail.example.com)" };
        var command = new Command("create", "Create a sending domain (with its DKIM key) and print the DNS records to publish");
        command.Arguments.Add(name);
        connection.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliSession.RunAsync(parse, connection, cancellationToken, async session =>
        {
            var domain = await session.Admin().CreateDomainAsync(new CreateDomainRequest { Domain = parse.GetValue(name)! }, cancellationToken: session.CancellationToken).ConfigureAwait(false);
            await session.WriteLineAsync($"Created domain {domain.Domain_}.").ConfigureAwait(false);
            await session.WriteLineAsync().ConfigureAwait(false);
            await session.Output.WriteAsync(DnsRecords(domain)).ConfigureAwait(false);
            await session.WriteLineAsync($"Next: kannon apikey create --domain {domain.Domain_} --name <name>").ConfigureAwait(false);
            return 0;
        }));
        return command;
    }

    private static Command List()
    {
        var connection = new CliConnection();
        var command = new Command("list", "List the sending domains");
        connection.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliSession.RunAsync(parse, connection, cancellationToken, async session =>
        {
            var response = await session.Admin().GetDomainsAsync(new GetDomainsReq(), cancellationToken: session.CancellationToken).ConfigureAwait(false);
            if (response.Domains.Count == 0)
            {
                await session.WriteLineAsync("No domains yet: kannon domain create <domain>").ConfigureAwait(false);
                return 0;
            }

            var rows = response.Domains
                .OrderBy(d => d.Domain_, StringComparer.Ordinal)
                .Select(d => (IReadOnlyList<string>)[d.Domain_, ModeName(d.Tracking?.Opens ?? TrackingMode.Unspecified), ModeName(d.Tracking?.Links ?? TrackingMode.Unspecified)]);
            await session.Output.WriteAsync(CliFormat.Table(["DOMAIN", "OPENS", "LINKS"], rows)).ConfigureAwait(false);
            return 0;
        }));
        return command;
    }

    private static Command Show()
    {
        var connection = new CliConnection();
        var name = new Argument<string>("domain") { Description = "the sending domain" };
        var command = new Command("show", "Show a sending domain and the DNS records to publish");
        command.Arguments.Add(name);
        connection.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliSession.RunAsync(parse, connection, cancellationToken, async session =>
        {
            var domain = (await session.Admin().GetDomainAsync(new GetDomainReq { Domain = parse.GetValue(name)! }, cancellationToken: session.CancellationToken).ConfigureAwait(false)).Domain;
            await session.WriteLineAsync($"domain:         {domain.Domain_}").ConfigureAwait(false);
            await session.WriteLineAsync($"dkim selector:  {DkimKeyGenerator.DefaultSelector}").ConfigureAwait(false);
            await session.WriteLineAsync($"tracking opens: {ModeName(domain.Tracking?.Opens ?? TrackingMode.Unspecified)}").ConfigureAwait(false);
            await session.WriteLineAsync($"tracking links: {ModeName(domain.Tracking?.Links ?? TrackingMode.Unspecified)}").ConfigureAwait(false);
            await session.WriteLineAsync($"unsubscribe:    {(domain.Unsubscribe.Length > 0 ? domain.Unsubscribe : "-")}").ConfigureAwait(false);
            await session.WriteLineAsync().ConfigureAwait(false);
            await session.Output.WriteAsync(DnsRecords(domain)).ConfigureAwait(false);
            return 0;
        }));
        return command;
    }

    private static Command Unsubscribe()
    {
        var connection = new CliConnection();
        var name = new Argument<string>("domain") { Description = "the sending domain" };
        var mode = new Argument<string>("mode")
        {
            Description = "hosted: Kannon adds one-click List-Unsubscribe headers (its Tracker's /u/ link) to Batches without an unsubscribe URL of their own; off: none (transactional domains)",
        };
        mode.AcceptOnlyFromAmong(UnsubscribeMode.All.ToArray());
        var command = new Command("unsubscribe", "Set whether Kannon hosts one-click unsubscribe for a domain (hosted, the default, or off)");
        command.Arguments.Add(name);
        command.Arguments.Add(mode);
        connection.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliSession.RunAsync(parse, connection, cancellationToken, async session =>
        {
            var domain = (await session.Admin().SetUnsubscribePolicyAsync(
                new SetUnsubscribePolicyReq { Domain = parse.GetValue(name)!, Unsubscribe = parse.GetValue(mode)! },
                cancellationToken: session.CancellationToken).ConfigureAwait(false)).Domain;
            await session.WriteLineAsync($"Unsubscribe of {domain.Domain_} is now {domain.Unsubscribe}.").ConfigureAwait(false);
            return 0;
        }));
        return command;
    }
}
