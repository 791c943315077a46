using System.CommandLine;
using Kannon.Protos.Mailer.ApiV1;
using Kannon.Protos.Mailer.Types;
using MailSender = Kannon.Protos.Mailer.Types.Sender;

namespace Kannon.Cli;

/// <summary>
/// <c>kannon send</c>: one Batch through the Mailer API, authenticated as the sender's Domain with one of its
/// API keys (<c>--key</c> or <c>KANNON_API_KEY</c>), not with the operator token.
/// </summary>
internal static class SendCommand
{
    public const string KeyVariable = "KANNON_API_KEY";

    public static Command Build()
    {
        var connection = new CliConnection(operatorCommand: false);
        var from = new Option<string>("--from") { Description = "the sender's address (news@example.com); its domain is the sending domain", HelpName = "ADDRESS", Required = true };
        var alias = new Option<string?>("--alias") { Description = "the sender's display name", HelpName = "NAME" };
        var to = new Option<string[]>("--to") { Description = "a recipient; repeat for more", HelpName = "ADDRESS", Required = true, Arity = ArgumentArity.OneOrMore };
        var subject = new Option<string>("--subject") { Description = "the subject (Liquid placeholders allowed)", HelpName = "SUBJECT", Required = true };
        var html = TemplateCommands.HtmlOption();
        var htmlFile = TemplateCommands.HtmlFileOption();
        var template = new Option<string?>("--template") { Description = "a stored template's id instead of HTML (kannon template list)", HelpName = "TEMPLATE_ID" };
        var fields = new Option<string[]>("--field") { Description = "a value for a placeholder, for every recipient: name=Ann; repeat for more", HelpName = "KEY=VALUE", Arity = ArgumentArity.ZeroOrMore };
        var key = new Option<string?>("--key") { Description = $"an API key of the sending domain (default: ${KeyVariable})", HelpName = "KEY" };
        var domain = new Option<string?>("--domain") { Description = "the domain the key belongs to (default: the --from address's domain)", HelpName = "DOMAIN" };
        var command = new Command("send", "Send one message to one or more recipients through the Mailer API, with a domain's API key");
        foreach (var option in new Option[] { from, alias, to, subject, html, htmlFile, template, fields, key, domain })
        {
            command.Options.Add(option);
        }

        connection.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliSession.RunAsync(parse, connection, cancellationToken, async session =>
        {
            var sender = new MailSender { Email = parse.GetValue(from)!.Trim(), Alias = parse.GetValue(alias) ?? "" };
            var sendingDomain = parse.GetValue(domain) ?? DomainOf(sender.Email);
            var apiKey = parse.GetValue(key) ?? Environment.GetEnvironmentVariable(KeyVariable);
            if (string.IsNullOrWhiteSpace(apiKey))
            {
                throw new CliException($"send needs an API key of {sendingDomain}: --key KEY or {KeyVariable} (make one with: kannon apikey create --domain {sendingDomain} --name <name>)");
            }

            var templateId = parse.GetValue(template);
            var body = await TemplateCommands.HtmlAsync(parse, html, htmlFile, orElse: templateId, session.CancellationToken).ConfigureAwait(false);
            if (templateId is not null && body is not null)
            {
                throw new CliException("give --template or the HTML (--html, --html-file), not both");
            }

            var globalFields = Fields(parse.GetValue(fields) ?? []);
            var recipients = (parse.GetValue(to) ?? []).Select(address => new Recipient { Email = address.Trim() }).ToList();
            var mailer = session.Mailer(sendingDomain, apiKey.Trim());
            SendRes response;
            if (templateId is not null)
            {
                var request = new SendTemplateReq { Sender = sender, Subject = parse.GetValue(subject)!, TemplateId = templateId, GlobalFields = { globalFields } };
                request.Recipients.AddRange(recipients);
                response = await mailer.SendTemplateAsync(request, cancellationToken: session.CancellationToken).ConfigureAwait(false);
            }
            else
            {
                var request = new SendHTMLReq { Sender = sender, Subject = parse.GetValue(subject)!, Html = body!, GlobalFields = { globalFields } };
                request.Recipients.AddRange(recipients);
                response = await mailer.SendHTMLAsync(request, cancellationToken: session.CancellationToken).ConfigureAwait(false);
            }

            await session.WriteLineAsync($"message id: {response.MessageId}").ConfigureAwait(false);
            await session.WriteLineAsync($"accepted:   {response.AcceptedCount}").ConfigureAwait(false);
            await session.WriteLineAsync($"rejected:   {response.RejectedCount}").ConfigureAwait(false);
            foreach (var rejected in response.RejectedRecipients)
            {
                await session.WriteLineAsync($"  {rejected.Email}: {rejected.Reason}").ConfigureAwait(false);
            }

            if (response.AcceptedCount == 0)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync("kannon: no recipient was accepted").ConfigureAwait(false);
                return CliSession.Refused;
            }

            await session.WriteLineAsync($"Follow it: kannon stats --domain {sendingDomain}").ConfigureAwait(false);
            return 0;
        }));
        return command;
    }

    private static string DomainOf(string address)
    {
        var at = address.LastIndexOf('@');
        return at > 0 && at < address.Length - 1
            ? address[(at + 1)..].Trim().ToLowerInvariant()
            : throw new CliException($"--from: '{address}' is not an address (news@example.com)");
    }

    private static Dictionary<string, string> Fields(IEnumerable<string> pairs)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new CliException($"--field: '{pair}' is not KEY=VALUE");
            }

            fields[pair[..equals].Trim()] = pair[(equals + 1)..];
        }

        return fields;
    }
}
