namespace Kannon.Templates;

/// <summary>One page of a Domain's templates and how many there are in all.</summary>
internal sealed record TemplatePage(IReadOnlyList<Template> Templates, int Total);
