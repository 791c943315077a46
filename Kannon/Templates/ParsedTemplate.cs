using Fluid;

namespace Kannon.Templates;

internal sealed record ParsedTemplate(IFluidTemplate Liquid, FieldSlot[] Slots);
