using Kannon.Hosting.Configuration;
using Microsoft.Extensions.Configuration;

namespace Kannon.Validator;

internal sealed class ValidatorOptions : IValidatedOptions
{
    public const string Section = "validator";

    [ConfigurationKeyName("batch_size")]
    public int BatchSize { get; set; } = 1000;

    [ConfigurationKeyName("poll_interval")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a Validator may leave its locked batch idle (while its outcomes are published) before PostgreSQL ends
    /// the transaction and unlocks the rows; also the age at which a "validating" claim left by an earlier version
    /// goes back to to_validate.
    /// </summary>
    [ConfigurationKeyName("claim_timeout")]
    public TimeSpan ClaimTimeout { get; set; } = TimeSpan.FromMinutes(5);

    public IEnumerable<string> Validate()
    {
        if (BatchSize is < 1 or > 100_000)
        {
            yield return $"validator.batch_size: {BatchSize} is out of range (1-100000)";
        }

        if (PollInterval <= TimeSpan.Zero)
        {
            yield return "validator.poll_interval: must be positive";
        }

        if (ClaimTimeout <= TimeSpan.Zero)
        {
            yield return "validator.claim_timeout: must be positive";
        }
    }
}
