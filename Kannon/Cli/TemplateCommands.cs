using System.CommandLine;
using Kannon.Protos.Admin.ApiV1;

namespace Kannon.Cli;

/// <summary><c>kannon template create|list|show|delete</c>: stored Liquid templates a send can name.</summary>
internal static class TemplateCommands
{
    public static Command Build()
    {
        var command = new Command("template", "Stored templates (HTML with Liquid placeholders) that `kannon send --template` names");
        command.Subcommands.Add(Create());
        command.Subcommands.Add(List());
        command.Subcommands.Add(Show());
        command.Subcommands.Add(Delete());
        return command;
    }

    /// <summary>The HTML of <c>--html</c> or <c>--html-file</c>: exactly one of them (or, with <paramref name="orElse"/>, neither).</summary>
    internal static async Task<string?> HtmlAsync(ParseResult parse, Option<string?> html, Option<string?> htmlFile, string? orElse, CancellationToken cancellationToken)
    {
        var inline = parse.GetValue(html);
        var file = parse.GetValue(htmlFile);
        if (inline is not null && file is not null)
        {
            throw new CliException("give --html or --html-file, not both");
        }

        if (file is not null)
        {
            var path = Path.GetFullPath(file);
            if (!File.Exists(path))
            {
                throw new CliException($"--html-file: file not found: {path}");
            }

            return await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
        }

        return inline ?? (orElse is null ? throw new CliException("give the HTML: --html HTML or --html-file FILE") : null);
    }

    internal static Option<string?> HtmlOption() => new("--html") { Description = "the HTML, Liquid placeholders allowed ({{ name }})", HelpName = "HTML" };

    internal static Option<string?> HtmlFileOption() => new("--html-file") { Description = "a file with the HTML", HelpName = "FILE" };

    private static Command Create()
    {
        var connection = new CliConnection();
        var domain = ApiKeyCommands.DomainOption();
        var title = new Option<string>("--title") { Description = "a name for people", HelpName = "TITLE", Required = true };
        var html = HtmlOption();
        var htmlFile = HtmlFileOption();
        var command = new Command("create", "Store a template for a domain (--html-file FILE or --html HTML) and print its id");
        command.Options.Add(domain);
        command.Options.Add(title);
        command.Options.Add(html);
        command.Options.Add(htmlFile);
        connection.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliSession.RunAsync(parse, connection, cancellationToken, async session =>
        {
            var body = await HtmlAsync(parse, html, htmlFile, orElse: null, session.CancellationToken).ConfigureAwait(false);
            var created = (await session.Admin().CreateTemplateAsync(
                new CreateTemplateReq { Domain = parse.GetValue(domain)!, Title = parse.GetValue(title)!, Html = body! },
                cancellationToken: session.CancellationToken).ConfigureAwait(false)).Template;
            await session.WriteLineAsync($"Created template {created.TemplateId} '{created.Title}'.").ConfigureAwait(false);
            await session.WriteLineAsync($"Send with it: kannon send --template {created.TemplateId} --from … --to … --subject …").ConfigureAwait(false);
            return 0;
        }));
        return command;
    }

    private static Command List()
    {
        var connection = new CliConnection();
        var domain = ApiKeyCommands.DomainOption();
        var command = new Command("list", "List a domain's stored templates");
        command.Options.Add(domain);
        connection.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliSession.RunAsync(parse, connection, cancellationToken, async session =>
        {
            var admin = session.Admin();
            var templates = new List<Template>();
            const uint page = 1000;
            while (true)
            {
                var response = await admin.GetTemplatesAsync(
                    new GetTemplatesReq { Domain = parse.GetValue(domain)!, Skip = (uint)templates.Count, Take = page },
                    cancellationToken: session.CancellationToken).ConfigureAwait(false);
                templates.AddRange(response.Templates);
                if (response.Templates.Count < page || templates.Count >= response.Total)
                {
                    break;
                }
            }

            if (templates.Count == 0)
            {
                await session.WriteLineAsync("No templates.").ConfigureAwait(false);
                return 0;
            }

            var rows = templates.Select(t => (IReadOnlyList<string>)[t.TemplateId, t.Title, t.Type]);
            await session.Output.WriteAsync(CliFormat.Table(["ID", "TITLE", "TYPE"], rows)).ConfigureAwait(false);
            return 0;
        }));
        return command;
    }

    private static Command Show()
    {
        var connection = new CliConnection();
        var id = new Argument<string>("template_id") { Description = "template_<id>@<domain>" };
        var command = new Command("show", "Show a template and its HTML");
        command.Arguments.Add(id);
        connection.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliSession.RunAsync(parse, connection, cancellationToken, async session =>
        {
            var template = (await session.Admin().GetTemplateAsync(new GetTemplateReq { TemplateId = parse.GetValue(id)! }, cancellationToken: session.CancellationToken).ConfigureAwait(false)).Template;
            await session.WriteLineAsync($"id:    {template.TemplateId}").ConfigureAwait(false);
            await session.WriteLineAsync($"title: {template.Title}").ConfigureAwait(false);
            await session.WriteLineAsync($"type:  {template.Type}").ConfigureAwait(false);
            await session.WriteLineAsync("html:").ConfigureAwait(false);
            await session.WriteLineAsync(template.Html).ConfigureAwait(false);
            return 0;
        }));
        return command;
    }

    private static Command Delete()
    {
        var connection = new CliConnection();
        var id = new Argument<string>("template_id") { Description = "template_<id>@<domain>" };
        var command = new Command("delete", "Delete a stored template (sends already accepted still use it)");
        command.Arguments.Add(id);
        connection.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliSession.RunAsync(parse, connection, cancellationToken, async session =>
        {
            var deleted = (await session.Admin().DeleteTemplateAsync(new DeleteTemplateReq { TemplateId = parse.GetValue(id)! }, cancellationToken: session.CancellationToken).ConfigureAwait(false)).Template;
            await session.WriteLineAsync($"Deleted template {deleted.TemplateId} '{deleted.Title}'.").ConfigureAwait(false);
            return 0;
        }));
        return command;
    }
}
