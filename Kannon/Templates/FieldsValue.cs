using System.Globalization;
using Fluid;
using Fluid.Values;

namespace Kannon.Templates;

/// <summary>
/// The model one render resolves names against: the Delivery's fields, <c>email</c> (the recipient,
/// unless a field of that name exists), and the lifted original-style placeholders.
/// </summary>
internal sealed class FieldsValue(FieldSlot[] slots, string recipient, IReadOnlyDictionary<string, string> fields)
    : ObjectValueBase(fields)
{
    public const string SlotPrefix = "__kannon_slot_";

    public override ValueTask<FluidValue> GetValueAsync(string name, TemplateContext context)
    {
        if (name.StartsWith(SlotPrefix, StringComparison.Ordinal)
            && int.TryParse(name.AsSpan(SlotPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            && (uint)index < (uint)slots.Length)
        {
            return ResolveSlotAsync(slots[index], context);
        }

        return new ValueTask<FluidValue>(Field(name) is { } value ? new StringValue(value) : NilValue.Instance);
    }

    private string? Field(string name) =>
        fields.TryGetValue(name, out var value) ? value
        : name == "email" ? recipient
        : null;

    private async ValueTask<FluidValue> ResolveSlotAsync(FieldSlot slot, TemplateContext context)
    {
        if (Field(slot.Key) is { } value)
        {
            return new StringValue(value);
        }

        // Not a field: a Liquid variable of that name ({% assign %}, {% for %}) still renders.
        if (slot.LiquidPath is { } path)
        {
            var current = context.GetValue(path[0]);
            for (var i = 1; i < path.Length && !current.IsNil(); i++)
            {
                current = await current.GetValueAsync(path[i], context).ConfigureAwait(false);
            }

            if (!current.IsNil())
            {
                return current;
            }
        }

        return new StringValue(slot.Verbatim, encode: false);
    }
}
