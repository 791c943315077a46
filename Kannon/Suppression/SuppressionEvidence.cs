namespace Kannon.Suppression;

/// <summary>Why one address of one Domain is to be suppressed: the reason and what showed it (the row's evidence columns).</summary>
internal sealed record SuppressionEvidence(
    string Domain,
    string Email,
    string Reason,
    string StatusCode,
    string Diagnostic,
    string MessageId,
    string Source,
    DateTimeOffset ObservedAt,
    string Note = "");
