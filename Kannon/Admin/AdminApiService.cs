using Grpc.Core;
using Kannon.ApiKeys;
using Kannon.Domains;
using Kannon.Protos.Admin.ApiV1;
using Kannon.Templates;
using Microsoft.Extensions.Logging;
using AdminApi = Kannon.Protos.Admin.ApiV1.Api;

namespace Kannon.Admin;

/// <summary>
/// <c>pkg.kannon.admin.apiv1.Api</c>: Domains, templates and API keys, for the operator
/// (<see cref="Kannon.Api.AdminTokenInterceptor"/> has checked the token before any method runs).
/// Validates every request and maps outcomes to status codes; the work is in the noun folders.
/// </summary>
internal sealed partial class AdminApiService(
    DomainRegistry domains,
    TemplateStore templates,
    ApiKeyStore apiKeys,
    TimeProvider time,
    ILogger<AdminApiService> logger) : AdminApi.ApiBase
{
    public const int DefaultTemplatePage = 50;
    public const int DefaultApiKeyPage = 100;
    public const int MaxPage = 1000;
    public const int MaxTitleLength = 200;
    public const int MaxKeyNameLength = 100;

    public override async Task<Protos.Admin.ApiV1.Domain> CreateDomain(CreateDomainRequest request, ServerCallContext context)
    {
        var name = AdminErrors.ValidDomain(request.Domain);
        var created = await domains.CreateAsync(name, context.CancellationToken).ConfigureAwait(false)
            ?? throw AdminErrors.AlreadyExists($"domain '{name}'");
        LogDomainCreated(name);
        return AdminMapping.ToProto(created);
    }

    public override async Task<GetDomainRes> GetDomain(GetDomainReq request, ServerCallContext context)
    {
        var name = AdminErrors.ValidDomain(request.Domain);
        var found = await domains.GetAsync(name, context.CancellationToken).ConfigureAwait(false)
            ?? throw AdminErrors.NotFound($"domain '{name}'");
        return new GetDomainRes { Domain = AdminMapping.ToProto(found) };
    }

    public override async Task<GetDomainsResponse> GetDomains(GetDomainsReq request, ServerCallContext context)
    {
        var all = await domains.ListAsync(context.CancellationToken).ConfigureAwait(false);
        var response = new GetDomainsResponse();
        response.Domains.AddRange(all.Select(AdminMapping.ToProto));
        return response;
    }

    public override async Task<SetTrackingPolicyRes> SetTrackingPolicy(SetTrackingPolicyReq request, ServerCallContext context)
    {
        var name = AdminErrors.ValidDomain(request.Domain);
        if (request.Tracking is null)
        {
            throw AdminErrors.InvalidArgument("tracking", "is required (TRACKING_MODE_UNSPECIFIED on an axis leaves it unchanged)");
        }

        var opens = ValidMode("tracking.opens", request.Tracking.Opens);
        var links = ValidMode("tracking.links", request.Tracking.Links);
        var updated = await domains.SetTrackingPolicyAsync(name, opens, links, context.CancellationToken).ConfigureAwait(false)
            ?? throw AdminErrors.NotFound($"domain '{name}'");
        LogTrackingPolicySet(name, updated.Tracking.Opens, updated.Tracking.Links);
        return new SetTrackingPolicyRes { Domain = AdminMapping.ToProto(updated) };
    }

    public override async Task<SetUnsubscribePolicyRes> SetUnsubscribePolicy(SetUnsubscribePolicyReq request, ServerCallContext context)
    {
        var name = AdminErrors.ValidDomain(request.Domain);
        if (!UnsubscribeMode.All.Contains(request.Unsubscribe, StringComparer.Ordinal))
        {
            throw AdminErrors.InvalidArgument("unsubscribe", $"'{request.Unsubscribe}' is not one of {string.Join(", ", UnsubscribeMode.All)}");
        }

        var updated = await domains.SetUnsubscribeAsync(name, request.Unsubscribe, context.CancellationToken).ConfigureAwait(false)
            ?? throw AdminErrors.NotFound($"domain '{name}'");
        LogUnsubscribeSet(name, updated.Unsubscribe);
        return new SetUnsubscribePolicyRes { Domain = AdminMapping.ToProto(updated) };
    }

    public override async Task<CreateTemplateRes> CreateTemplate(CreateTemplateReq request, ServerCallContext context)
    {
        var domain = AdminErrors.ValidDomain(request.Domain);
        var html = ValidHtml(request.Html);
        var title = ValidTitle(request.Title);
        await RequireDomainAsync(domain, context).ConfigureAwait(false);
        var created = await templates.CreateAsync(domain, html, title, context.CancellationToken).ConfigureAwait(false);
        return new CreateTemplateRes { Template = AdminMapping.ToProto(created) };
    }

    public override async Task<UpdateTemplateRes> UpdateTemplate(UpdateTemplateReq request, ServerCallContext context)
    {
        var id = ValidTemplateId(request.TemplateId);
        var html = ValidHtml(request.Html);
        var title = ValidTitle(request.Title);
        await RequireChangeableTemplateAsync(id, context).ConfigureAwait(false);
        var updated = await templates.UpdateAsync(id, html, title, context.CancellationToken).ConfigureAwait(false)
            ?? throw AdminErrors.NotFound($"template '{id}'");
        return new UpdateTemplateRes { Template = AdminMapping.ToProto(updated) };
    }

    public override async Task<DeleteTemplateRes> DeleteTemplate(DeleteTemplateReq request, ServerCallContext context)
    {
        var id = ValidTemplateId(request.TemplateId);
        await RequireChangeableTemplateAsync(id, context).ConfigureAwait(false);
        var deleted = await templates.DeleteAsync(id, context.CancellationToken).ConfigureAwait(false)
            ?? throw AdminErrors.NotFound($"template '{id}'");
        return new DeleteTemplateRes { Template = AdminMapping.ToProto(deleted) };
    }

    public override async Task<GetTemplateRes> GetTemplate(GetTemplateReq request, ServerCallContext context)
    {
        var id = ValidTemplateId(request.TemplateId);
        var found = await templates.GetAsync(id, context.CancellationToken).ConfigureAwait(false)
            ?? throw AdminErrors.NotFound($"template '{id}'");
        return new GetTemplateRes { Template = AdminMapping.ToProto(found) };
    }

    public override async Task<GetTemplatesRes> GetTemplates(GetTemplatesReq request, ServerCallContext context)
    {
        var domain = AdminErrors.ValidDomain(request.Domain);
        // take 0 means "the default page"; anything above the cap gets the cap, as a page size is a hint.
        var take = request.Take == 0 ? DefaultTemplatePage : (int)Math.Min(request.Take, MaxPage);
        var skip = (int)Math.Min(request.Skip, int.MaxValue);
        await RequireDomainAsync(domain, context).ConfigureAwait(false);
        var page = await templates.ListAsync(domain, skip, take, context.CancellationToken).ConfigureAwait(false);
        var response = new GetTemplatesRes { Total = (uint)page.Total };
        response.Templates.AddRange(page.Templates.Select(AdminMapping.ToProto));
        return response;
    }

    public override async Task<CreateAPIKeyResponse> CreateAPIKey(CreateAPIKeyRequest request, ServerCallContext context)
    {
        var domain = AdminErrors.ValidDomain(request.Domain);
        var name = request.Name.Trim();
        if (name.Length == 0)
        {
            throw AdminErrors.InvalidArgument("name", "is required");
        }

        if (name.Length > MaxKeyNameLength)
        {
            throw AdminErrors.InvalidArgument("name", $"is {name.Length} characters long (at most {MaxKeyNameLength})");
        }

        DateTimeOffset? expiresAt = null;
        if (request.ExpiresAt is not null)
        {
            expiresAt = ValidTimestamp("expires_at", request.ExpiresAt);
            if (expiresAt <= time.GetUtcNow())
            {
                throw AdminErrors.InvalidArgument("expires_at", $"{expiresAt:O} is not in the future");
            }
        }

        await RequireDomainAsync(domain, context).ConfigureAwait(false);
        var created = await apiKeys.CreateAsync(domain, name, expiresAt, context.CancellationToken).ConfigureAwait(false);
        LogApiKeyCreated(created.Key.Id, domain);
        return new CreateAPIKeyResponse { ApiKey = AdminMapping.ToProto(created.Key), Key = created.Plaintext };
    }

    public override async Task<ListAPIKeysResponse> ListAPIKeys(ListAPIKeysRequest request, ServerCallContext context)
    {
        var domain = AdminErrors.ValidDomain(request.Domain);
        if (request.Offset < 0)
        {
            throw AdminErrors.InvalidArgument("offset", $"{request.Offset} is negative");
        }

        var limit = request.Limit <= 0 ? DefaultApiKeyPage : Math.Min(request.Limit, MaxPage);
        await RequireDomainAsync(domain, context).ConfigureAwait(false);
        var page = await apiKeys.ListAsync(domain, request.OnlyActive, request.Offset, limit, context.CancellationToken).ConfigureAwait(false);
        var response = new ListAPIKeysResponse { Total = page.Total };
        response.ApiKeys.AddRange(page.Keys.Select(AdminMapping.ToProto));
        return response;
    }

    public override async Task<GetAPIKeyResponse> GetAPIKey(GetAPIKeyRequest request, ServerCallContext context)
    {
        var domain = AdminErrors.ValidDomain(request.Domain);
        var id = ValidApiKeyId(request.Id);
        var found = await apiKeys.GetAsync(domain, id, context.CancellationToken).ConfigureAwait(false)
            ?? throw AdminErrors.NotFound($"API key '{id}' of domain '{domain}'");
        return new GetAPIKeyResponse { ApiKey = AdminMapping.ToProto(found) };
    }

    public override async Task<DeactivateAPIKeyResponse> DeactivateAPIKey(DeactivateAPIKeyRequest request, ServerCallContext context)
    {
        var domain = AdminErrors.ValidDomain(request.Domain);
        var id = ValidApiKeyId(request.Id);
        var key = await apiKeys.DeactivateAsync(domain, id, context.CancellationToken).ConfigureAwait(false)
            ?? throw AdminErrors.NotFound($"API key '{id}' of domain '{domain}'");
        LogApiKeyDeactivated(id, domain);
        return new DeactivateAPIKeyResponse { ApiKey = AdminMapping.ToProto(key) };
    }

    private static string? ValidMode(string field, Protos.Tracking.Types.TrackingMode mode) =>
        AdminMapping.TryModeName(mode, out var name)
            ? name
            : throw AdminErrors.InvalidArgument(field, $"unknown tracking mode {(int)mode} (use TRACKING_MODE_OFF, _ANONYMOUS, _PSEUDONYMOUS, _IDENTIFIED or _FULL)");

    private static string ValidHtml(string html)
    {
        if (html.Length == 0)
        {
            throw AdminErrors.InvalidArgument("html", "is required");
        }

        return LiquidSyntax.Problem(html) is { } error
            ? throw AdminErrors.InvalidArgument("html", $"is not a valid Liquid template: {error}")
            : html;
    }

    private static string ValidTitle(string title) =>
        title.Length > MaxTitleLength
            ? throw AdminErrors.InvalidArgument("title", $"is {title.Length} characters long (at most {MaxTitleLength})")
            : title;

    private static string ValidTemplateId(string id)
    {
        if (id.Length == 0)
        {
            throw AdminErrors.InvalidArgument("template_id", "is required");
        }

        return TemplateId.DomainOf(id) is null
            ? throw AdminErrors.InvalidArgument("template_id", $"'{id}' is not a template id (template_<id>@<domain>)")
            : id;
    }

    private static string ValidApiKeyId(string id)
    {
        if (id.Length == 0)
        {
            throw AdminErrors.InvalidArgument("id", "is required");
        }

        return id.StartsWith(ApiKeyStore.IdPrefix, StringComparison.Ordinal) && id.Length > ApiKeyStore.IdPrefix.Length
            ? id
            : throw AdminErrors.InvalidArgument("id", $"'{id}' is not an API key id (key_<id>)");
    }

    private static DateTimeOffset ValidTimestamp(string field, Google.Protobuf.WellKnownTypes.Timestamp timestamp)
    {
        try
        {
            return timestamp.ToDateTimeOffset();
        }
        catch (InvalidOperationException)
        {
            throw AdminErrors.InvalidArgument(field, "is not a valid timestamp");
        }
    }

    private async Task RequireDomainAsync(string domain, ServerCallContext context)
    {
        if (!await domains.ExistsAsync(domain, context.CancellationToken).ConfigureAwait(false))
        {
            throw AdminErrors.NotFound($"domain '{domain}'");
        }
    }

    private async Task RequireChangeableTemplateAsync(string id, ServerCallContext context)
    {
        var found = await templates.GetAsync(id, context.CancellationToken).ConfigureAwait(false)
            ?? throw AdminErrors.NotFound($"template '{id}'");
        if (found.Type != TemplateType.Template)
        {
            throw AdminErrors.FailedPrecondition($"template '{id}' is {found.Type} (made by SendHTML) and cannot be changed or deleted");
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Domain {Domain} created with a new DKIM key")]
    private partial void LogDomainCreated(string domain);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tracking ceiling of {Domain} is now opens={Opens}, links={Links}")]
    private partial void LogTrackingPolicySet(string domain, string? opens, string? links);

    [LoggerMessage(Level = LogLevel.Information, Message = "Unsubscribe setting of {Domain} is now {Mode}")]
    private partial void LogUnsubscribeSet(string domain, string mode);

    [LoggerMessage(Level = LogLevel.Information, Message = "API key {KeyId} created for {Domain}")]
    private partial void LogApiKeyCreated(string keyId, string domain);

    [LoggerMessage(Level = LogLevel.Information, Message = "API key {KeyId} of {Domain} deactivated")]
    private partial void LogApiKeyDeactivated(string keyId, string domain);
}
