using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Kannon.Admin;
using Kannon.Domains;
using Kannon.Mailer;
using Kannon.Protos.Suppression.ApiV1;
using Microsoft.Extensions.Logging;
using ProtoSuppression = Kannon.Protos.Suppression.ApiV1.Suppression;

namespace Kannon.Suppression;

/// <summary>
/// <c>kannon.suppression.apiv1.SuppressionApi</c>: a Domain's suppression list for the operator
/// (<see cref="Kannon.Api.AdminTokenInterceptor"/> has checked the token). Validates every request and names
/// the field it refuses; the work is in <see cref="SuppressionStore"/>.
/// </summary>
internal sealed partial class SuppressionApiService(
    SuppressionStore store,
    DomainRegistry domains,
    ILogger<SuppressionApiService> logger) : SuppressionApi.SuppressionApiBase
{
    public const int DefaultPage = 100;
    public const int MaxPage = 1000;
    public const int MaxNoteLength = 1000;
    public const int MaxEmailLength = 320;

    public override async Task<ListSuppressionsRes> List(ListSuppressionsReq request, ServerCallContext context)
    {
        var domain = AdminErrors.ValidDomain(request.Domain);
        string? reason = null;
        if (request.Reason.Length > 0)
        {
            reason = SuppressionReason.All.Contains(request.Reason, StringComparer.Ordinal)
                ? request.Reason
                : throw AdminErrors.InvalidArgument("reason", $"'{request.Reason}' is not one of {string.Join(", ", SuppressionReason.All)} (or empty for all)");
        }

        if (request.AddressPrefix.Length > MaxEmailLength || request.AddressPrefix.Any(char.IsControl))
        {
            throw AdminErrors.InvalidArgument("address_prefix", $"must be at most {MaxEmailLength} characters without control characters");
        }

        // take 0 means the default page; above the cap gets the cap, as a page size is a hint (like GetTemplates).
        var take = request.Take == 0 ? DefaultPage : (int)Math.Min(request.Take, MaxPage);
        var skip = (int)Math.Min(request.Skip, int.MaxValue);
        await RequireDomainAsync(domain, context).ConfigureAwait(false);
        var page = await store.ListAsync(domain, reason, request.AddressPrefix, skip, take, context.CancellationToken).ConfigureAwait(false);
        var response = new ListSuppressionsRes { Total = (uint)page.Total };
        response.Suppressions.AddRange(page.Suppressions.Select(ToProto));
        return response;
    }

    public override async Task<ProtoSuppression> Get(GetSuppressionReq request, ServerCallContext context)
    {
        var domain = AdminErrors.ValidDomain(request.Domain);
        var email = ValidEmail(request.Email);
        await RequireDomainAsync(domain, context).ConfigureAwait(false);
        var found = await store.GetAsync(domain, email, context.CancellationToken).ConfigureAwait(false)
            ?? throw AdminErrors.NotFound($"suppression of '{email}' for domain '{domain}'");
        return ToProto(found);
    }

    public override async Task<ProtoSuppression> Add(AddSuppressionReq request, ServerCallContext context)
    {
        var domain = AdminErrors.ValidDomain(request.Domain);
        var email = ValidEmail(request.Email);
        var note = ValidNote(request.Note);
        await RequireDomainAsync(domain, context).ConfigureAwait(false);
        var suppression = await store.AddManualAsync(domain, email, note, context.CancellationToken).ConfigureAwait(false);
        LogAdded(email, domain, suppression.Reason);
        return ToProto(suppression);
    }

    public override async Task<RemoveSuppressionRes> Remove(RemoveSuppressionReq request, ServerCallContext context)
    {
        var domain = AdminErrors.ValidDomain(request.Domain);
        var email = ValidEmail(request.Email);
        var note = ValidNote(request.Note);
        await RequireDomainAsync(domain, context).ConfigureAwait(false);
        var removed = await store.RemoveAsync(domain, email, note, context.CancellationToken).ConfigureAwait(false);
        if (removed)
        {
            LogRemoved(email, domain);
        }

        return new RemoveSuppressionRes { Removed = removed };
    }

    internal static ProtoSuppression ToProto(SuppressedAddress s) => new()
    {
        Domain = s.Domain,
        Email = s.Email,
        Reason = s.Reason,
        StatusCode = s.StatusCode,
        Diagnostic = s.Diagnostic,
        MessageId = s.MessageId,
        Source = s.Source,
        Note = s.Note,
        CreatedAt = Timestamp.FromDateTimeOffset(s.CreatedAt),
        ObservedAt = Timestamp.FromDateTimeOffset(s.ObservedAt),
    };

    private static string ValidEmail(string email)
    {
        if (email.Length == 0)
        {
            throw AdminErrors.InvalidArgument("email", "is required");
        }

        return RecipientScreen.IsUsable(email)
            ? email
            : throw AdminErrors.InvalidArgument("email", $"'{email}' is not an address (local@domain, at most {MaxEmailLength} characters, no spaces)");
    }

    private static string ValidNote(string note) =>
        note.Length > MaxNoteLength
            ? throw AdminErrors.InvalidArgument("note", $"is {note.Length} characters long (at most {MaxNoteLength})")
            : note;

    private async Task RequireDomainAsync(string domain, ServerCallContext context)
    {
        if (!await domains.ExistsAsync(domain, context.CancellationToken).ConfigureAwait(false))
        {
            throw AdminErrors.NotFound($"domain '{domain}'");
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Suppression of {Email} for {Domain} added by the operator (reason {Reason})")]
    private partial void LogAdded(string email, string domain, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Suppression of {Email} for {Domain} removed by the operator")]
    private partial void LogRemoved(string email, string domain);
}
