using Fluid;

namespace Kannon.Templates;

internal static class LiquidSyntax
{
    // FluidParser is thread-safe and costly to build: one for the process.
    private static readonly FluidParser Parser = new();

    /// <summary>The parse error of <paramref name="html"/> as a Liquid template, or null when it parses.</summary>
    public static string? Problem(string html) =>
        Parser.TryParse(html, out _, out var error) ? null : error;
}
