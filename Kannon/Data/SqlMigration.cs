using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Kannon.Data;

/// <summary>One <c>migrations/NNNN_name.sql</c> file.</summary>
internal sealed partial record SqlMigration(int Version, string Name, string Sql, string Checksum)
{
    private const string ResourcePrefix = "migrations/";

    public string FileName => $"{Version:D4}_{Name}";

    public static SqlMigration Create(string fileName, string sql)
    {
        var match = FileNamePattern().Match(fileName);
        if (!match.Success)
        {
            throw new MigrationException(
                $"Migration file '{fileName}' is not named NNNN_name.sql (four digits, lowercase name).");
        }

        // Hash LF-normalised text so a checkout with CRLF line endings does not look like an edited migration.
        var normalised = sql.ReplaceLineEndings("\n");
        var checksum = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(normalised)));
        return new SqlMigration(int.Parse(match.Groups["version"].Value), match.Groups["name"].Value, sql, checksum);
    }

    public static IReadOnlyList<SqlMigration> LoadEmbedded(Assembly assembly)
    {
        var migrations = new List<SqlMigration>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            {
                continue;
            }

            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream, Encoding.UTF8);
            migrations.Add(Create(resource[ResourcePrefix.Length..], reader.ReadToEnd()));
        }

        return Ordered(migrations);
    }

    public static IReadOnlyList<SqlMigration> Ordered(IEnumerable<SqlMigration> migrations)
    {
        var ordered = migrations.OrderBy(m => m.Version).ToList();
        for (var i = 1; i < ordered.Count; i++)
        {
            if (ordered[i].Version == ordered[i - 1].Version)
            {
                throw new MigrationException(
                    $"Migrations {ordered[i - 1].FileName} and {ordered[i].FileName} share version {ordered[i].Version}.");
            }
        }

        return ordered;
    }

    [GeneratedRegex(@"^(?<version>\d{4})_(?<name>[a-z0-9_]+)\.sql$")]
    private static partial Regex FileNamePattern();
}
