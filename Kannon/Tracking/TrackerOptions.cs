using Kannon.Hosting.Configuration;
using Microsoft.Extensions.Configuration;

namespace Kannon.Tracking;

internal sealed class TrackerOptions : IValidatedOptions
{
    public const string Section = "tracker";

    /// <summary>Public base URL written into tracking links; unset = <c>https://stats.&lt;sending domain&gt;</c>.</summary>
    [ConfigurationKeyName("base_url")]
    public string? BaseUrl { get; set; }

    /// <summary>Read the client address from X-Forwarded-For / X-Real-IP only when a trusted proxy sets them.</summary>
    [ConfigurationKeyName("trust_proxy")]
    public bool TrustProxy { get; set; }

    /// <summary>How long open and click links keep working.</summary>
    [ConfigurationKeyName("token_lifetime")]
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromDays(90);

    public IEnumerable<string> Validate()
    {
        if (BaseUrl is not null
            && (!Uri.TryCreate(BaseUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            yield return $"tracker.base_url: '{BaseUrl}' is not an absolute http(s) URL";
        }

        if (TokenLifetime < TimeSpan.FromMinutes(1))
        {
            yield return "tracker.token_lifetime: must be at least 1m";
        }
    }
}
