namespace Kannon.Tests.Deploy;

/// <summary>Files of the repository the tests were built from (the directory holding kannon.sln).</summary>
internal static class RepositoryFiles
{
    private static readonly Lazy<string> RootDirectory = new(() =>
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "kannon.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"no kannon.sln above {AppContext.BaseDirectory}");
    });

    public static string Root => RootDirectory.Value;

    public static string PathOf(string relative) => Path.Combine(Root, relative);

    public static string Read(string relative) => File.ReadAllText(PathOf(relative));
}
