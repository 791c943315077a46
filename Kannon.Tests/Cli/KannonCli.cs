using Kannon.Hosting;
using Kannon.Tests.Infrastructure;

namespace Kannon.Tests.Cli;

/// <summary>Runs <c>kannon …</c> in-process, as the executable would, and captures what it prints.</summary>
internal static class KannonCli
{
    public sealed record Result(int Code, string Output, string Error)
    {
        public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        public override string ToString() => $"exit {Code}\n--- stdout\n{Output}\n--- stderr\n{Error}";
    }

    public static async Task<Result> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await KannonCommandLine.RunAsync(args, output, error);
        return new Result(code, output.ToString(), error.ToString());
    }

    /// <summary>An operator command against <paramref name="host"/> with the test host's operator token.</summary>
    public static Task<Result> OperatorAsync(KannonTestHost host, params string[] args) =>
        RunAsync([.. args, "--api", host.ApiAddress!.ToString(), "--token", KannonTestHost.AdminToken]);

    /// <summary>Asserts exit 0 and returns the output.</summary>
    public static async Task<string> SucceedsAsync(this Task<Result> run)
    {
        var result = await run;
        result.Code.Should().Be(0, result.ToString());
        result.Error.Should().BeEmpty(result.ToString());
        return result.Output;
    }
}
