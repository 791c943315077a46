namespace Kannon.Hosting;

internal static class KannonCommandLine
{
    public static Task<int> RunAsync(string[] args) => Task.FromResult(0);
}
