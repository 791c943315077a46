namespace Kannon.Dispatcher;

/// <summary>What every Delivery of a Batch shares when its Envelope is built; loaded once per Batch, not per Delivery.</summary>
internal sealed record BatchContent(
    string BatchId,
    string Domain,
    string Subject,
    string SenderEmail,
    string SenderAlias,
    string TemplateId,
    string Html,
    IReadOnlyList<string> HeaderTo,
    IReadOnlyList<string> HeaderCc,
    IReadOnlyList<(string Filename, byte[] Content)> Attachments,
    string DkimSelector,
    string DkimPrivateKey);
