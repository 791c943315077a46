using System.Text.Json;
using System.Text.Json.Serialization;
using Kannon.Tracking;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Kannon.Data;

internal static class JsonbColumns
{
    private static readonly JsonSerializerOptions Json = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    // Fields is mutable: without a comparer that looks inside, EF Core would miss an added entry.
    private static readonly ValueComparer<Dictionary<string, string>> FieldsComparer = new(
        (a, b) => FieldsEqual(a, b),
        d => FieldsHash(d),
        d => new Dictionary<string, string>(d));

    public static PropertyBuilder<TrackingPolicy> IsTrackingJsonb(this PropertyBuilder<TrackingPolicy> property) =>
        property.HasColumnType("jsonb").HasConversion(
            policy => JsonSerializer.Serialize(policy, Json),
            json => DeserializeTracking(json));

    public static PropertyBuilder<Dictionary<string, string>> IsFieldsJsonb(
        this PropertyBuilder<Dictionary<string, string>> property) =>
        property.HasColumnType("jsonb").HasConversion(
            fields => JsonSerializer.Serialize(fields, Json),
            json => DeserializeFields(json),
            FieldsComparer);

    public static PropertyBuilder<string> IsRawJsonb(this PropertyBuilder<string> property) =>
        property.HasColumnType("jsonb");

    private static TrackingPolicy DeserializeTracking(string json) =>
        JsonSerializer.Deserialize<TrackingPolicy>(json, Json) ?? TrackingPolicy.Unstated;

    // Upstream rows may hold JSON null for "no fields".
    private static Dictionary<string, string> DeserializeFields(string json) =>
        JsonSerializer.Deserialize<Dictionary<string, string>>(json, Json) ?? [];

    private static bool FieldsEqual(Dictionary<string, string>? a, Dictionary<string, string>? b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        if (a is null || b is null || a.Count != b.Count)
        {
            return false;
        }

        foreach (var (key, value) in a)
        {
            if (!b.TryGetValue(key, out var other) || !string.Equals(value, other, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    private static int FieldsHash(Dictionary<string, string> fields)
    {
        var hash = fields.Count;
        foreach (var (key, value) in fields)
        {
            hash ^= HashCode.Combine(key, value);
        }

        return hash;
    }
}
