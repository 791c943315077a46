using System.Diagnostics;

namespace Kannon.Bench;

/// <summary>
/// A private Postfix instance (own config, queue and data directories under a temp dir; nothing of the
/// system's /etc/postfix is read or changed) relaying everything to <c>[127.0.0.1]:sink</c>, with opendkim
/// signing every message (RSA-2048, relaxed/relaxed like Kannon) as an inet milter on loopback. Postfix
/// needs root for this (its daemons drop to mail_owner), so the bench checks that first.
/// </summary>
internal sealed class PostfixWithOpenDkim : IAsyncDisposable
{
    private const string Selector = "bench";
    private static readonly TimeSpan ToolBound = TimeSpan.FromMinutes(2);

    private readonly string _dir;
    private Process? _opendkim;
    private Process? _master;

    private PostfixWithOpenDkim(string dir) => _dir = dir;

    /// <summary>Where smtpd listens (127.0.0.1).</summary>
    public int SmtpPort { get; private set; }

    public string Version { get; private set; } = "";

    public string Log => Path.Combine(_dir, "postfix.log");

    private string ConfigDir => Path.Combine(_dir, "etc");

    /// <summary>
    /// Starts opendkim and Postfix. Mail for <paramref name="probeDomain"/> goes to 127.0.0.2:<paramref name="probePort"/>
    /// instead of the sink, so the bench can check that the relayed messages really carry a signature.
    /// </summary>
    public static async Task<PostfixWithOpenDkim> StartAsync(int sinkPort, string probeDomain, int probePort, CancellationToken cancellationToken)
    {
        if (Environment.UserName != "root")
        {
            throw new InvalidOperationException("a private Postfix instance needs root (its daemons drop to the postfix user); run the bench as root or pass --skip-postfix");
        }

        foreach (var tool in new[] { "/usr/sbin/postfix", "/usr/sbin/postconf", "/usr/sbin/opendkim", "/usr/sbin/opendkim-genkey", "/usr/sbin/smtp-source" })
        {
            if (!File.Exists(tool))
            {
                throw new FileNotFoundException($"{tool} not found: apt-get install postfix opendkim opendkim-tools");
            }
        }

        var dir = Directory.CreateTempSubdirectory("postfix-bench-").FullName;
        var relay = new PostfixWithOpenDkim(dir);
        try
        {
            await relay.LaunchAsync(sinkPort, probeDomain, probePort, cancellationToken).ConfigureAwait(false);
            return relay;
        }
        catch
        {
            Console.Error.WriteLine($"bench: postfix log (last lines):{Environment.NewLine}{relay.TailLog(20)}");
            await relay.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task LaunchAsync(int sinkPort, string probeDomain, int probePort, CancellationToken cancellationToken)
    {
        // Postfix's daemons run as the postfix user and reach data_directory by absolute path.
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(_dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }
        var keys = Directory.CreateDirectory(Path.Combine(_dir, "dkim")).FullName;
        await ChildProcess.RunAsync("/usr/sbin/opendkim-genkey", ["-b", "2048", "-d", BenchMessage.SenderDomain, "-s", Selector, "-D", keys], ToolBound, cancellationToken).ConfigureAwait(false);

        var milterPort = ChildProcess.FreePort();
        var opendkimConf = Path.Combine(_dir, "opendkim.conf");
        await File.WriteAllLinesAsync(opendkimConf,
        [
            "Mode s",
            $"Domain {BenchMessage.SenderDomain}",
            $"Selector {Selector}",
            $"KeyFile {Path.Combine(keys, Selector + ".private")}",
            $"Socket inet:{milterPort}@127.0.0.1",
            "Canonicalization relaxed/relaxed",
            "SignatureAlgorithm rsa-sha256",
            "Background no",
            "Syslog no",
            // The key sits under /tmp, which others can write; opendkim refuses such keys unless told.
            "RequireSafeKeys false",
        ], cancellationToken).ConfigureAwait(false);
        _opendkim = ChildProcess.StartLogged("/usr/sbin/opendkim", ["-f", "-x", opendkimConf], Path.Combine(_dir, "opendkim.log"));
        await ChildProcess.WaitListeningAsync(milterPort, () => !_opendkim.HasExited, "opendkim", ToolBound, cancellationToken).ConfigureAwait(false);

        SmtpPort = ChildProcess.FreePort();
        Directory.CreateDirectory(ConfigDir);
        Directory.CreateDirectory(Path.Combine(_dir, "spool"));
        var data = Directory.CreateDirectory(Path.Combine(_dir, "lib")).FullName;
        await File.WriteAllLinesAsync(Path.Combine(ConfigDir, "main.cf"), MainCf(sinkPort, milterPort, probeDomain, probePort), cancellationToken).ConfigureAwait(false);
        await File.WriteAllLinesAsync(Path.Combine(ConfigDir, "master.cf"), MasterCf(), cancellationToken).ConfigureAwait(false);
        await ChildProcess.RunAsync("/usr/bin/chown", ["postfix", data], ToolBound, cancellationToken).ConfigureAwait(false);
        Version = (await ChildProcess.RunAsync("/usr/sbin/postconf", ["-c", ConfigDir, "-h", "mail_version"], ToolBound, cancellationToken).ConfigureAwait(false)).Trim();
        // `check` creates the queue directories with Postfix's owners and modes (post-install create-missing).
        await ChildProcess.RunAsync("/usr/sbin/postfix", ["-c", ConfigDir, "check"], ToolBound, cancellationToken).ConfigureAwait(false);
        // start-fg keeps the master daemon a child of the bench, so it cannot outlive it unnoticed.
        _master = ChildProcess.StartLogged("/usr/sbin/postfix", ["-c", ConfigDir, "start-fg"], Path.Combine(_dir, "start-fg.log"));
        await ChildProcess.WaitListeningAsync(SmtpPort, () => !_master.HasExited, "postfix", ToolBound, cancellationToken).ConfigureAwait(false);
    }

    private IEnumerable<string> MainCf(int sinkPort, int milterPort, string probeDomain, int probePort) =>
    [
        "compatibility_level = 3.6",
        $"queue_directory = {Path.Combine(_dir, "spool")}",
        $"data_directory = {Path.Combine(_dir, "lib")}",
        // The packaged programs and their postfix-files list stay where Debian put them.
        "command_directory = /usr/sbin",
        "daemon_directory = /usr/lib/postfix/sbin",
        "shlib_directory = /usr/lib/postfix",
        "meta_directory = /etc/postfix",
        "mail_owner = postfix",
        "setgid_group = postdrop",
        "myhostname = postfix-bench.local",
        "inet_interfaces = 127.0.0.1",
        "inet_protocols = ipv4",
        // A pure relay: nothing is local, everything goes to the sink.
        "mydestination =",
        "local_recipient_maps =",
        "local_transport = error:local delivery is disabled",
        "alias_maps =",
        "alias_database =",
        "mynetworks = 127.0.0.0/8",
        "smtpd_relay_restrictions = permit_mynetworks, reject",
        $"relayhost = [127.0.0.1]:{sinkPort}",
        $"transport_maps = inline:{{ {probeDomain}=smtp:[127.0.0.2]:{probePort} }}",
        $"smtpd_milters = inet:127.0.0.1:{milterPort}",
        "non_smtpd_milters = $smtpd_milters",
        // An unsigned message must not slip through as if signed.
        "milter_default_action = tempfail",
        $"maillog_file = {Log}",
        $"maillog_file_prefixes = {_dir}",
    ];

    /// <summary>The services a relay uses, none chrooted (the queue dir is private and has no copy of /etc).</summary>
    private IEnumerable<string> MasterCf() =>
    [
        $"127.0.0.1:{SmtpPort} inet n - n - - smtpd",
        "cleanup unix n - n - 0 cleanup",
        "qmgr unix n - n 300 1 qmgr",
        "rewrite unix - - n - - trivial-rewrite",
        "bounce unix - - n - 0 bounce",
        "defer unix - - n - 0 bounce",
        "trace unix - - n - 0 bounce",
        "verify unix - - n - 1 verify",
        "flush unix n - n 1000? 0 flush",
        "proxymap unix - - n - - proxymap",
        "proxywrite unix - - n - 1 proxymap",
        "smtp unix - - n - - smtp",
        "relay unix - - n - - smtp",
        "showq unix n - n - - showq",
        "error unix - - n - - error",
        "retry unix - - n - - error",
        "discard unix - - n - - discard",
        "anvil unix - - n - 1 anvil",
        "scache unix - - n - 1 scache",
        "postlog unix-dgram n - n - 1 postlogd",
    ];

    public string TailLog(int lines)
    {
        try
        {
            return File.Exists(Log) ? string.Join(Environment.NewLine, File.ReadLines(Log).TakeLast(lines)) : "(no log)";
        }
        catch (IOException e)
        {
            return e.Message;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_master is not null)
        {
            try
            {
                if (!_master.HasExited)
                {
                    await ChildProcess.RunAsync("/usr/sbin/postfix", ["-c", ConfigDir, "stop"], TimeSpan.FromSeconds(60), CancellationToken.None).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException)
            {
                Console.Error.WriteLine($"bench: postfix stop: {e.Message}");
            }

            await ChildProcess.StopAsync(_master, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            _master.Dispose();
        }

        if (_opendkim is not null)
        {
            await ChildProcess.StopAsync(_opendkim, TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            _opendkim.Dispose();
        }

        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"bench: could not remove {_dir}: {e.Message}");
        }
    }

    public string Description => $"private Postfix {Version} (queue on disk, relayhost the sink) + opendkim (RSA-2048, relaxed/relaxed, inet milter)";
}
