using Kannon.Tracking;

namespace Kannon.Mailer;

/// <summary>A validated send request in our own types: what intake stores as one Batch and its Deliveries.</summary>
internal sealed record SendCommand(
    string Domain,
    string SenderEmail,
    string SenderAlias,
    string Subject,
    string? Html,
    string? TemplateId,
    DateTimeOffset ScheduledTime,
    RecipientPayload Recipients,
    IReadOnlyDictionary<string, string> GlobalFields,
    IReadOnlyList<(string Filename, byte[] Content)> Attachments,
    IReadOnlyList<string> HeaderTo,
    IReadOnlyList<string> HeaderCc,
    TrackingPolicy Tracking);

internal sealed record RejectedRecipient(string Email, string Reason);

internal sealed record SendResult(
    string MessageId,
    string TemplateId,
    DateTimeOffset ScheduledTime,
    int AcceptedCount,
    IReadOnlyList<RejectedRecipient> Rejected);
