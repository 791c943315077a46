using Npgsql;

namespace Kannon.Data;

/// <summary>Accepts <c>database_url</c> as the original did (<c>postgres://user:pass@host:port/db?sslmode=…</c>) or as an Npgsql string.</summary>
internal static class PostgresUrl
{
    public static string ToConnectionString(string value) =>
        TryToConnectionString(value, out var connectionString, out var error)
            ? connectionString
            : throw new InvalidOperationException($"database_url: {error}");

    public static bool TryToConnectionString(string value, out string connectionString, out string error)
    {
        connectionString = "";
        error = "";
        var trimmed = value.Trim();
        if (!trimmed.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase)
            && !trimmed.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                connectionString = new NpgsqlConnectionStringBuilder(trimmed).ConnectionString;
                return true;
            }
            catch (ArgumentException e)
            {
                error = $"not a postgres:// URL nor an Npgsql connection string ({e.Message})";
                return false;
            }
        }

        if (!Uri.TryCreate(trimmed, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            error = "not a valid postgres:// URL (postgres://user:pass@host:5432/db)";
            return false;
        }

        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.Port > 0 ? uri.Port : 5432,
            Database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/')) is { Length: > 0 } db ? db : "postgres",
        };
        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            builder.Username = Uri.UnescapeDataString(parts[0]);
            if (parts.Length == 2)
            {
                builder.Password = Uri.UnescapeDataString(parts[1]);
            }
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            var key = Uri.UnescapeDataString(kv[0]);
            var val = kv.Length == 2 ? Uri.UnescapeDataString(kv[1]) : "";
            switch (key)
            {
                case "sslmode":
                    if (!Enum.TryParse<SslMode>(val.Replace("-", "", StringComparison.Ordinal), ignoreCase: true, out var mode))
                    {
                        error = $"sslmode '{val}' is not one of disable, allow, prefer, require, verify-ca, verify-full";
                        return false;
                    }

                    builder.SslMode = mode;
                    break;
                case "pool_max_conns":
                    builder.MaxPoolSize = int.Parse(val, System.Globalization.CultureInfo.InvariantCulture);
                    break;
                case "application_name":
                    builder.ApplicationName = val;
                    break;
                default:
                    break; // pgx-only parameters have no Npgsql meaning
            }
        }

        connectionString = builder.ConnectionString;
        return true;
    }
}
