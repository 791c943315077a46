using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;

namespace Kannon.Hosting.Embedded;

/// <summary>
/// Secrets the embedded default makes up once and keeps under data_dir, so a newcomer's
/// <c>kannon --run-all</c> starts with nothing configured: the operator token, printed when created, and the
/// return-path secret (<c>bounce.secret</c>), kept so bounces of mail sent before a restart still verify.
/// </summary>
internal static class EmbeddedSecrets
{
    public static IDictionary<string, string?> For(IConfiguration configuration, Roles roles, TextWriter output)
    {
        var values = new Dictionary<string, string?>();
        if (!string.IsNullOrWhiteSpace(configuration["database_url"]))
        {
            return values;
        }

        var dataDir = Path.GetFullPath(configuration["data_dir"] ?? "./.kannon");
        if (roles.Api && string.IsNullOrWhiteSpace(configuration["api:admin_token"]))
        {
            values["api:admin_token"] = ReadOrCreate(dataDir, "admin_token", created =>
                output.WriteLine($"kannon: generated the operator token (kept in {created}): {File.ReadAllText(created).Trim()}"));
        }

        if ((roles.Dispatcher || roles.Smtp) && string.IsNullOrWhiteSpace(configuration["bounce:secret"]))
        {
            values["bounce:secret"] = ReadOrCreate(dataDir, "bounce_secret", created =>
                output.WriteLine($"kannon: generated the return-path secret bounce.secret (kept in {created})"));
        }

        return values;
    }

    private static string ReadOrCreate(string dataDir, string name, Action<string> onCreated)
    {
        Directory.CreateDirectory(dataDir);
        var path = Path.Combine(dataDir, name);
        if (File.Exists(path))
        {
            return File.ReadAllText(path).Trim();
        }

        var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        File.WriteAllText(path, secret + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        onCreated(path);
        return secret;
    }
}
