using System.Globalization;

namespace Kannon.Bench;

/// <summary>What `bench/run` was asked to do; every figure but N has a default that matches issue #9.</summary>
internal sealed record BenchOptions(
    int Messages,
    int CallSize,
    TimeSpan Timeout,
    string KannonExecutable,
    bool SkipPostfix,
    bool SkipIntake,
    bool SkipLatency,
    bool SkipEndToEnd,
    int SenderJobs)
{
    /// <summary>Recipients of the single large intake call, and the size of each of the ten calls after it.</summary>
    public const int IntakeCall = 100_000;

    public const int IntakeCalls = 10;

    public const int LatencySends = 30;

    /// <summary>Injection sessions into Postfix, as in the reference figures.</summary>
    public const int PostfixSessions = 10;

    public static BenchOptions Parse(string[] args)
    {
        var known = new HashSet<string>(StringComparer.Ordinal)
        {
            "--n", "--call", "--timeout-seconds", "--kannon", "--skip-postfix", "--skip-intake", "--skip-latency", "--skip-end-to-end",
            "--sender-jobs",
        };
        foreach (var unknown in args.Where(a => a.StartsWith("--", StringComparison.Ordinal) && !known.Contains(a)))
        {
            throw new ArgumentException($"unknown option {unknown}; options: {string.Join(' ', known)}");
        }

        var messages = Number(args, "--n", 20_000);
        var call = Number(args, "--call", 1_000);
        var jobs = Number(args, "--sender-jobs", 50);
        if (messages < 1 || call < 1 || jobs < 1)
        {
            throw new ArgumentException("--n, --call and --sender-jobs must be at least 1");
        }

        return new BenchOptions(
            messages,
            call,
            TimeSpan.FromSeconds(Number(args, "--timeout-seconds", 600)),
            Text(args, "--kannon", Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "kannon"))),
            args.Contains("--skip-postfix"),
            args.Contains("--skip-intake"),
            args.Contains("--skip-latency"),
            args.Contains("--skip-end-to-end"),
            jobs);
    }

    private static int Number(string[] args, string name, int fallback) =>
        Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;

    private static string Text(string[] args, string name, string fallback) =>
        Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
