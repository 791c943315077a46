namespace Kannon.Tests.Infrastructure;

/// <summary>A benchmark, not a test: it runs only when KANNON_BENCH is set (bench/sender-bench.sh sets it).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class BenchFactAttribute : FactAttribute
{
    public BenchFactAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("KANNON_BENCH")))
        {
            Skip = "benchmark: set KANNON_BENCH=1 (bench/sender-bench.sh)";
        }
    }
}
