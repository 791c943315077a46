namespace Kannon.Hosting.Embedded;

/// <summary>Finds the server binaries the embedded default and the test fixtures start.</summary>
internal static class Binaries
{
    /// <summary>PostgreSQL's bin folder: <c>KANNON_PG_BIN</c>, else the newest /usr/lib/postgresql/*/bin.</summary>
    public static string PostgresBin()
    {
        var configured = Environment.GetEnvironmentVariable("KANNON_PG_BIN");
        if (!string.IsNullOrEmpty(configured))
        {
            return configured;
        }

        const string root = "/usr/lib/postgresql";
        var newest = Directory.Exists(root)
            ? Directory.GetDirectories(root)
                .Select(d => (Dir: d, Version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
                .Where(d => File.Exists(Path.Combine(d.Dir, "bin", "postgres")))
                .OrderByDescending(d => d.Version)
                .Select(d => Path.Combine(d.Dir, "bin"))
                .FirstOrDefault()
            : null;
        return newest ?? throw new InvalidOperationException(
            "PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql, or set database_url)");
    }

    public static string NatsServer() =>
        Find("nats-server") ?? throw new InvalidOperationException(
            "nats-server not found on PATH (apt-get install nats-server, or set nats_url)");

    private static string? Find(string name)
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"]);
        return path.Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);
    }

    public static bool IsRoot => Environment.UserName == "root" || geteuid() == 0;

    [System.Runtime.InteropServices.DllImport("libc")]
#pragma warning disable SYSLIB1054 // a one-word libc call; LibraryImport buys nothing here
    private static extern uint geteuid();
#pragma warning restore SYSLIB1054
}
