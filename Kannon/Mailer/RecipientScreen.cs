namespace Kannon.Mailer;

/// <summary>
/// Intake's per-recipient check, one recipient at a time as they are copied into the Pool: an address that can never
/// be delivered (empty, no '@', spaces or control characters, too long) is rejected on its own with
/// <c>invalid_email</c>, and a repeated address is collapsed into its first occurrence. Full RFC 5321/6531 syntax is
/// the Validator's job.
/// </summary>
internal sealed class RecipientScreen(int capacity)
{
    public const string InvalidEmail = "invalid_email";

    private readonly HashSet<string> _seen = new(capacity, StringComparer.OrdinalIgnoreCase);

    /// <summary>Recipients rejected so far, in request order.</summary>
    public List<RejectedRecipient> Rejected { get; } = [];

    /// <summary>The address to store for <paramref name="email"/> (trimmed), or null when it is rejected or repeats an earlier one.</summary>
    public string? Admit(string email)
    {
        // Trim returns the same string when there is nothing to trim: no copy of an address already clean.
        var trimmed = email.Trim();
        if (!IsUsable(trimmed))
        {
            Rejected.Add(new RejectedRecipient(email, InvalidEmail));
            return null;
        }

        return _seen.Add(trimmed) ? trimmed : null;
    }

    public static bool IsUsable(string email)
    {
        if (email.Length is < 3 or > 320)
        {
            return false;
        }

        var at = email.LastIndexOf('@');
        if (at <= 0 || at == email.Length - 1)
        {
            return false;
        }

        foreach (var c in email)
        {
            if (char.IsControl(c) || char.IsWhiteSpace(c))
            {
                return false;
            }
        }

        return true;
    }
}
