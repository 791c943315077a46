using Kannon.Protos.Tracking.Types;

namespace Kannon.Tracking;

/// <summary>The tracking scale off &lt; anonymous &lt; pseudonymous &lt; identified &lt; full, and how policies combine.</summary>
internal static class TrackingModes
{
    public const string Off = "off";
    public const string Anonymous = "anonymous";
    public const string Pseudonymous = "pseudonymous";
    public const string Identified = "identified";
    public const string Full = "full";

    private static readonly string[] Scale = [Off, Anonymous, Pseudonymous, Identified, Full];

    public static int Rank(string mode) => Array.IndexOf(Scale, mode);

    /// <summary>The wire enum as our mode name; null for "states nothing"; false for a value we do not know.</summary>
    public static bool TryFromWire(TrackingMode mode, out string? name)
    {
        name = mode switch
        {
            TrackingMode.Unspecified => null,
            TrackingMode.Off => Off,
            TrackingMode.Anonymous => Anonymous,
            TrackingMode.Pseudonymous => Pseudonymous,
            TrackingMode.Identified => Identified,
            TrackingMode.Full => Full,
            _ => "?",
        };
        return name != "?";
    }

    public static TrackingMode ToWire(string? mode) => mode switch
    {
        Off => TrackingMode.Off,
        Anonymous => TrackingMode.Anonymous,
        Pseudonymous => TrackingMode.Pseudonymous,
        Identified => TrackingMode.Identified,
        Full => TrackingMode.Full,
        _ => TrackingMode.Unspecified,
    };

    /// <summary>The axes of <paramref name="stated"/> that ask for more than <paramref name="ceiling"/> allows.</summary>
    public static IEnumerable<string> AboveCeiling(TrackingPolicy stated, TrackingPolicy ceiling)
    {
        if (stated.Opens is { } opens && Rank(opens) > Rank(ceiling.Opens ?? Identified))
        {
            yield return "opens";
        }

        if (stated.Links is { } links && Rank(links) > Rank(ceiling.Links ?? Identified))
        {
            yield return "links";
        }
    }

    /// <summary>Per axis, the most restrictive of the stated policies (unstated imposes nothing).</summary>
    public static TrackingPolicy Resolve(TrackingPolicy ceiling, params TrackingPolicy[] stated)
    {
        var opens = ceiling.Opens ?? Identified;
        var links = ceiling.Links ?? Identified;
        foreach (var policy in stated)
        {
            if (policy.Opens is { } o && Rank(o) < Rank(opens))
            {
                opens = o;
            }

            if (policy.Links is { } l && Rank(l) < Rank(links))
            {
                links = l;
            }
        }

        return new TrackingPolicy(opens, links);
    }
}
