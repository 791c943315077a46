namespace Kannon.Mailer;

/// <summary>
/// Intake's per-recipient check: an address that can never be delivered (empty, no '@', spaces or control
/// characters, too long) is rejected on its own with <c>invalid_email</c>, and a repeated address is
/// collapsed into its first occurrence. Full RFC 5321/6531 syntax is the Validator's job.
/// </summary>
internal static class RecipientScreen
{
    public const string InvalidEmail = "invalid_email";

    public static (List<RecipientInput> Accepted, List<RejectedRecipient> Rejected) Screen(IReadOnlyList<RecipientInput> recipients)
    {
        var accepted = new List<RecipientInput>(recipients.Count);
        var rejected = new List<RejectedRecipient>();
        var seen = new HashSet<string>(recipients.Count, StringComparer.OrdinalIgnoreCase);
        foreach (var recipient in recipients)
        {
            var email = recipient.Email.Trim();
            if (!IsUsable(email))
            {
                rejected.Add(new RejectedRecipient(recipient.Email, InvalidEmail));
                continue;
            }

            if (seen.Add(email))
            {
                // Trim returns the same string when there is nothing to trim: no copy of an address already clean.
                accepted.Add(ReferenceEquals(email, recipient.Email) ? recipient : recipient with { Email = email });
            }
        }

        return (accepted, rejected);
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
