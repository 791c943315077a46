using Kannon.Hosting.Configuration;
using Microsoft.Extensions.Configuration;

namespace Kannon.Envelopes;

/// <summary>
/// The key of signed return paths (ADR 0011). The Dispatcher signs with <see cref="Secret"/>; the SMTP server
/// verifies with it and with every <see cref="PreviousSecrets"/> entry, so a rotated secret still recognises
/// the bounces of mail signed before the rotation.
/// </summary>
internal sealed class BounceOptions : IValidatedOptions
{
    public const string Section = "bounce";

    public const int MinSecretLength = 32;

    public string Secret { get; set; } = "";

    [ConfigurationKeyName("previous_secrets")]
    public List<string> PreviousSecrets { get; set; } = [];

    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(Secret))
        {
            yield return $"bounce.secret: required by the Dispatcher and SMTP roles (at least {MinSecretLength} characters)";
        }
        else if (Secret.Trim().Length < MinSecretLength)
        {
            yield return $"bounce.secret: {Secret.Trim().Length} characters is too short (at least {MinSecretLength})";
        }

        for (var i = 0; i < PreviousSecrets.Count; i++)
        {
            if ((PreviousSecrets[i]?.Trim().Length ?? 0) < MinSecretLength)
            {
                yield return $"bounce.previous_secrets:{i}: too short (at least {MinSecretLength} characters)";
            }
        }
    }
}
