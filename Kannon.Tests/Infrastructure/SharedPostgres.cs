using Kannon.Data;
using Kannon.Hosting.Embedded;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Kannon.Tests.Infrastructure;

/// <summary>
/// One PostgreSQL for the whole test run (KANNON_TEST_DATABASE_URL, or a server started from the
/// machine's binaries), with a migrated template database; each test class clones its own database from it.
/// </summary>
internal static class SharedPostgres
{
    private const string DirectoryPrefix = "kannon-test-pg-";

    private const string TemplateDatabase = "kannon_template";
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? _adminConnectionString;
    private static PostgresServer? _server;

    public static async Task<string> CreateDatabaseAsync(string prefix, string template = TemplateDatabase)
    {
        var admin = await StartAsync().ConfigureAwait(false);
        var name = $"{Sanitize(prefix)}_{Guid.NewGuid():N}"[..Math.Min(60, Sanitize(prefix).Length + 33)];
        await using var connection = new NpgsqlConnection(admin);
        await connection.OpenAsync().ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\" TEMPLATE {template}", connection);
        await command.ExecuteNonQueryAsync().ConfigureAwait(false);
        return new NpgsqlConnectionStringBuilder(admin) { Database = name, Pooling = true }.ConnectionString;
    }

    private static async Task<string> StartAsync()
    {
        await Gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_adminConnectionString is not null)
            {
                return _adminConnectionString;
            }

            var external = Environment.GetEnvironmentVariable("KANNON_TEST_DATABASE_URL");
            string admin;
            if (!string.IsNullOrWhiteSpace(external))
            {
                admin = PostgresUrl.ToConnectionString(external);
            }
            else
            {
                RemoveLeftovers();
                var directory = Path.Combine(Path.GetTempPath(), $"{DirectoryPrefix}{Environment.ProcessId}");
                _server = new PostgresServer(directory, FreePort.Next(), durable: false);
                await _server.StartAsync(CancellationToken.None).ConfigureAwait(false);
                admin = _server.ConnectionString();
                AppDomain.CurrentDomain.ProcessExit += (_, _) =>
                {
                    _server.StopAsync().GetAwaiter().GetResult();
                    try
                    {
                        Directory.Delete(directory, recursive: true);
                    }
                    catch (IOException)
                    {
                    }
                };
            }

            await CreateTemplateAsync(admin).ConfigureAwait(false);
            _adminConnectionString = admin;
            return admin;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>
    /// Data directories of earlier test processes that are gone: the test host can be ended before its exit handler
    /// runs, and each left directory holds a cluster of up to a gigabyte or more.
    /// </summary>
    private static void RemoveLeftovers()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // whether a process is gone is read from /proc
        }

        foreach (var directory in Directory.EnumerateDirectories(Path.GetTempPath(), DirectoryPrefix + "*"))
        {
            if (int.TryParse(Path.GetFileName(directory)[DirectoryPrefix.Length..], out var pid) && !Directory.Exists($"/proc/{pid}"))
            {
                try
                {
                    Directory.Delete(directory, recursive: true);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Someone else's, or being removed by another test run: leave it.
                }
            }
        }
    }

    private static async Task CreateTemplateAsync(string admin)
    {
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync().ConfigureAwait(false);
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {TemplateDatabase} WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync().ConfigureAwait(false);
            await using var create = new NpgsqlCommand($"CREATE DATABASE {TemplateDatabase}", connection);
            await create.ExecuteNonQueryAsync().ConfigureAwait(false);
        }

        var template = new NpgsqlConnectionStringBuilder(admin) { Database = TemplateDatabase, Pooling = false }.ConnectionString;
        await using var dataSource = NpgsqlDataSource.Create(template);
        await new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance).ApplyAsync(CancellationToken.None).ConfigureAwait(false);
    }

    private static string Sanitize(string prefix) =>
        new string(prefix.ToLowerInvariant().Where(c => char.IsAsciiLetterOrDigit(c) || c == '_').ToArray()) is { Length: > 0 } s
            ? s[..Math.Min(s.Length, 24)]
            : "t";
}
