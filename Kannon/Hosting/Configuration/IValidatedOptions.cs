namespace Kannon.Hosting.Configuration;

/// <summary>Options that check themselves; each problem is one line that names the key ("sender.max_jobs: …").</summary>
internal interface IValidatedOptions
{
    IEnumerable<string> Validate();
}
