using Kannon.Data;
using Microsoft.EntityFrameworkCore;

namespace Kannon.Templates;

/// <summary>
/// The templates a Domain manages through the Admin API. Deleting one only sets <c>deleted_at</c>
/// (docs/adr/0005): from then on it is invisible here, while Batches that use it keep its html.
/// </summary>
internal sealed class TemplateStore(KannonDbContext db, TimeProvider time)
{
    public async Task<Template> CreateAsync(string domain, string html, string title, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNowForDatabase();
        var template = new Template
        {
            TemplateId = TemplateId.New(domain),
            Domain = domain,
            Html = html,
            Title = title,
            Type = TemplateType.Template,
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.Templates.Add(template);
        try
        {
            await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            db.ChangeTracker.Clear();
        }

        return template;
    }

    /// <summary>A visible template of any type (transient ones included), or null.</summary>
    public Task<Template?> GetAsync(string templateId, CancellationToken cancellationToken) =>
        Visible(templateId).FirstOrDefaultAsync(cancellationToken);

    /// <summary>Replaces html and title of a visible template of type <c>template</c>; null when there is none.</summary>
    public async Task<Template?> UpdateAsync(string templateId, string html, string title, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNowForDatabase();
        var updated = await Visible(templateId).Where(t => t.Type == TemplateType.Template)
            .ExecuteUpdateAsync(
                s => s.SetProperty(t => t.Html, html).SetProperty(t => t.Title, title).SetProperty(t => t.UpdatedAt, now),
                cancellationToken)
            .ConfigureAwait(false);
        return updated == 0 ? null : await GetAsync(templateId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Soft-deletes a visible template of type <c>template</c> and returns it as it was; null when there is none.</summary>
    public async Task<Template?> DeleteAsync(string templateId, CancellationToken cancellationToken)
    {
        var template = await Visible(templateId).Where(t => t.Type == TemplateType.Template)
            .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        if (template is null)
        {
            return null;
        }

        var now = time.GetUtcNowForDatabase();
        var deleted = await db.Templates
            .Where(t => t.Id == template.Id && t.DeletedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.DeletedAt, now), cancellationToken)
            .ConfigureAwait(false);
        return deleted == 0 ? null : template;
    }

    /// <summary>A page of the Domain's visible templates of type <c>template</c>, oldest first, in a stable order.</summary>
    public async Task<TemplatePage> ListAsync(string domain, int skip, int take, CancellationToken cancellationToken)
    {
        var listed = db.Templates.Where(t => t.Domain == domain && t.DeletedAt == null && t.Type == TemplateType.Template);
        var total = await listed.CountAsync(cancellationToken).ConfigureAwait(false);
        var page = await listed.OrderBy(t => t.CreatedAt).ThenBy(t => t.Id).Skip(skip).Take(take)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return new TemplatePage(page, total);
    }

    // The id names its Domain; matching it against the row's domain as well keeps a malformed or
    // forged id from ever reaching another Domain's template.
    private IQueryable<Template> Visible(string templateId)
    {
        var domain = TemplateId.DomainOf(templateId) ?? "";
        return db.Templates.Where(t => t.TemplateId == templateId && t.Domain == domain && t.DeletedAt == null);
    }
}
