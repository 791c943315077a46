using System.Text.Json;
using Grpc.Core;
using Kannon.Data;
using Kannon.Suppression;
using Kannon.Templates;
using Kannon.Tracking;
using Npgsql;
using NpgsqlTypes;

namespace Kannon.Mailer;

/// <summary>
/// Stores a send: the Batch, its transient Template (SendHTML), attachments and every accepted Delivery,
/// in one transaction with a binary COPY. Returns only after commit: accepted means stored. Addresses the
/// Domain suppresses are rejected (<c>suppressed</c>), found with one query for the whole Batch.
/// </summary>
internal sealed class BatchIntake(NpgsqlDataSource dataSource, TimeProvider time)
{

    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    public async Task<SendResult> AcceptAsync(SendCommand command, CancellationToken cancellationToken)
    {
        if (command.Html is not null && LiquidSyntax.Problem(command.Html) is { } parseError)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"html: the template does not parse: {parseError}"));
        }

        if (LiquidSyntax.Problem(command.Subject) is { } subjectError)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"subject: the template does not parse: {subjectError}"));
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var result = await StoreAsync(connection, command, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>
    /// Runs a whole intake of a two-recipient Batch for a Domain made up for it, in a transaction that is rolled back:
    /// nothing is stored and nobody is notified. With no tiered compilation (ADR 0016) this compiles, before the
    /// first caller pays for it, the code a first SendHTML runs against the database (the COPY, the suppression
    /// check, the inserts): about a quarter of a second of JIT that was inside the first 100,000-recipient call.
    /// </summary>
    public async Task RehearseAsync(CancellationToken cancellationToken)
    {
        const string domain = "kannon-warm-up.invalid";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var insert = new NpgsqlCommand("INSERT INTO domains (domain) VALUES ($1)", connection))
        {
            insert.Parameters.Add(new NpgsqlParameter { Value = domain });
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var recipients = RecipientPayload.From(
        [
            new Protos.Mailer.Types.Recipient { Email = "ann@" + domain, Fields = { ["name"] = "Ann" } },
            new Protos.Mailer.Types.Recipient { Email = "bob@" + domain },
        ]);
        var command = new SendCommand(domain, "news@" + domain, "Warm up", "Hello {{ name }}", "<p>Hello {{ name }}</p>", null,
            time.GetUtcNow(), recipients, new Dictionary<string, string> { ["shop"] = "Warm up" }, [], [], [], TrackingPolicy.Unstated);
        await StoreAsync(connection, command, cancellationToken).ConfigureAwait(false);
        await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Everything of an intake but the commit, in the connection's open transaction.</summary>
    private async Task<SendResult> StoreAsync(NpgsqlConnection connection, SendCommand command, CancellationToken cancellationToken)
    {
        var ceiling = await DomainCeilingAsync(connection, command.Domain, cancellationToken).ConfigureAwait(false);
        if (TrackingModes.AboveCeiling(command.Tracking, ceiling).FirstOrDefault() is { } axis)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"tracking.{axis}: above the domain's tracking ceiling"));
        }

        var templateId = command.TemplateId;
        if (templateId is null)
        {
            templateId = TemplateId.New(command.Domain);
            await InsertTransientTemplateAsync(connection, templateId, command, cancellationToken).ConfigureAwait(false);
        }
        else if (!await TemplateExistsAsync(connection, templateId, command.Domain, cancellationToken).ConfigureAwait(false))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"template_id: no template '{templateId}' in domain {command.Domain}"));
        }

        var batchId = $"msg_{Data.RandomId.Next()}@{command.Domain}";
        await InsertBatchAsync(connection, batchId, templateId, command, cancellationToken).ConfigureAwait(false);

        // A Domain's suppression list is usually far shorter than a Batch (most often empty): read whole, then checked
        // row by row while copying. A longer one is asked of the database for the Batch's addresses, read in a first pass.
        var suppressions = await SuppressionList.ListedUpToAsync(connection, command.Domain, command.Recipients.Count, cancellationToken).ConfigureAwait(false)
            ?? await SuppressionList.QueryAmongAsync(connection, command.Domain, UsableAddresses(command.Recipients), cancellationToken).ConfigureAwait(false);
        var policy = TrackingModes.Resolve(ceiling, command.Tracking);
        var (rejected, accepted, suppressed) = await CopyDeliveriesAsync(connection, batchId, command, suppressions, policy, cancellationToken).ConfigureAwait(false);
        rejected.AddRange(suppressed.Select(email => new RejectedRecipient(email, SuppressionList.RejectionReason)));

        await using (var notify = Pool.PoolSignal.NotifyCommand(connection, "to_validate"))
        {
            await notify.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        return new SendResult(batchId, templateId, command.ScheduledTime, accepted, rejected);
    }

    private static async Task<TrackingPolicy> DomainCeilingAsync(NpgsqlConnection connection, string domain, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT tracking::text FROM domains WHERE domain = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = domain });
        var json = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"domain {domain} does not exist"));
        return JsonSerializer.Deserialize<TrackingPolicy>(json, Json) ?? TrackingPolicy.Default;
    }

    private static async Task<bool> TemplateExistsAsync(NpgsqlConnection connection, string templateId, string domain, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "SELECT 1 FROM templates WHERE template_id = $1 AND domain = $2 AND deleted_at IS NULL", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = templateId });
        command.Parameters.Add(new NpgsqlParameter { Value = domain });
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
    }

    private async Task InsertTransientTemplateAsync(NpgsqlConnection connection, string templateId, SendCommand command, CancellationToken cancellationToken)
    {
        await using var insert = new NpgsqlCommand(
            "INSERT INTO templates (template_id, html, domain, type, title, created_at, updated_at) VALUES ($1, $2, $3, $4, '', $5, $5)", connection);
        insert.Parameters.Add(new NpgsqlParameter { Value = templateId });
        insert.Parameters.Add(new NpgsqlParameter { Value = command.Html! });
        insert.Parameters.Add(new NpgsqlParameter { Value = command.Domain });
        insert.Parameters.Add(new NpgsqlParameter { Value = TemplateType.Transient });
        insert.Parameters.Add(new NpgsqlParameter { Value = time.GetUtcNow() });
        await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task InsertBatchAsync(NpgsqlConnection connection, string batchId, string templateId, SendCommand command, CancellationToken cancellationToken)
    {
        var headers = new Dictionary<string, string[]?>
        {
            ["to"] = command.HeaderTo.Count > 0 ? [.. command.HeaderTo] : null,
            ["cc"] = command.HeaderCc.Count > 0 ? [.. command.HeaderCc] : null,
        };
        await using var insert = new NpgsqlCommand(
            "INSERT INTO messages (message_id, subject, sender_email, sender_alias, template_id, domain, headers, tracking, created_at, trace_parent) " +
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", connection);
        insert.Parameters.Add(new NpgsqlParameter { Value = batchId });
        insert.Parameters.Add(new NpgsqlParameter { Value = command.Subject });
        insert.Parameters.Add(new NpgsqlParameter { Value = command.SenderEmail });
        insert.Parameters.Add(new NpgsqlParameter { Value = command.SenderAlias });
        insert.Parameters.Add(new NpgsqlParameter { Value = templateId });
        insert.Parameters.Add(new NpgsqlParameter { Value = command.Domain });
        insert.Parameters.Add(new NpgsqlParameter { Value = JsonSerializer.Serialize(headers), NpgsqlDbType = NpgsqlDbType.Jsonb });
        insert.Parameters.Add(new NpgsqlParameter { Value = JsonSerializer.Serialize(command.Tracking, Json), NpgsqlDbType = NpgsqlDbType.Jsonb });
        insert.Parameters.Add(new NpgsqlParameter { Value = time.GetUtcNow() });
        insert.Parameters.Add(new NpgsqlParameter { Value = (object?)System.Diagnostics.Activity.Current?.Id ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Varchar });
        await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);

        foreach (var (filename, content) in command.Attachments.GroupBy(a => a.Filename).Select(g => g.Last()))
        {
            await using var attachment = new NpgsqlCommand(
                "INSERT INTO message_attachments (message_id, filename, content) VALUES ($1, $2, $3)", connection);
            attachment.Parameters.Add(new NpgsqlParameter { Value = batchId });
            attachment.Parameters.Add(new NpgsqlParameter { Value = filename });
            attachment.Parameters.Add(new NpgsqlParameter { Value = content });
            await attachment.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>What the COPY did: the recipients the screen rejected, how many rows it stored, the addresses left out as suppressed.</summary>
    private sealed record CopyResult(List<RejectedRecipient> Rejected, int Stored, List<string> Suppressed);

    /// <summary>
    /// Reads the recipients one at a time from the request's bytes and streams each accepted one into the Pool, so
    /// PostgreSQL stores rows while the rest are still being read. A recipient that is not well-formed protobuf, or
    /// holds a NUL, ends the call with INVALID_ARGUMENT and the transaction rolls back.
    /// </summary>
    private static async Task<CopyResult> CopyDeliveriesAsync(NpgsqlConnection connection, string batchId, SendCommand command,
        HashSet<string> suppressions, TrackingPolicy policy, CancellationToken cancellationToken)
    {
        var recipients = command.Recipients;
        using var screen = new RecipientScreen(recipients.Count);
        var stored = 0;
        var suppressed = new List<string>();

        // Columns whose value would be the column's default for every row are left out: PostgreSQL then stores the
        // default without parsing a jsonb per row. The Pool's tracking default is TrackingPolicy.Default (a test
        // holds them together); fields default to {} and are written only when some recipient has any.
        var writeTracking = policy != TrackingPolicy.Default;
        var writeFields = command.GlobalFields.Count > 0 || recipients.AnyFields();
        var tracking = JsonSerializer.Serialize(policy, Json);
        var scheduled = command.ScheduledTime;
        await using var importer = await connection.BeginBinaryImportAsync(
            "COPY sending_pool_emails (email, message_id, status, scheduled_time, original_scheduled_time, domain" +
            (writeFields ? ", fields" : "") + (writeTracking ? ", tracking" : "") + ") FROM STDIN (FORMAT BINARY)",
            cancellationToken).ConfigureAwait(false);
        var fields = new DeliveryFieldsWriter(command.GlobalFields);
        var recipient = new Protos.Mailer.Types.Recipient();
        for (var i = 0; i < recipients.Count; i++)
        {
            Read(recipients, i, recipient);
            if (screen.Admit(recipient.Email) is not { } email)
            {
                continue;
            }

            if (suppressions.Count > 0 && suppressions.Contains(SuppressionList.Normalize(email)))
            {
                suppressed.Add(email);
                continue;
            }

            stored++;
            await importer.StartRowAsync(cancellationToken).ConfigureAwait(false);
            await importer.WriteAsync(email, NpgsqlDbType.Varchar, cancellationToken).ConfigureAwait(false);
            await importer.WriteAsync(batchId, NpgsqlDbType.Varchar, cancellationToken).ConfigureAwait(false);
            await importer.WriteAsync(DeliveryStatus.ToValidate, NpgsqlDbType.Varchar, cancellationToken).ConfigureAwait(false);
            await importer.WriteAsync(scheduled, NpgsqlDbType.TimestampTz, cancellationToken).ConfigureAwait(false);
            await importer.WriteAsync(scheduled, NpgsqlDbType.TimestampTz, cancellationToken).ConfigureAwait(false);
            await importer.WriteAsync(command.Domain, NpgsqlDbType.Varchar, cancellationToken).ConfigureAwait(false);
            if (writeFields)
            {
                await importer.WriteAsync(fields.Write(recipient.Fields), NpgsqlDbType.Jsonb, cancellationToken).ConfigureAwait(false);
            }

            if (writeTracking)
            {
                await importer.WriteAsync(tracking, NpgsqlDbType.Jsonb, cancellationToken).ConfigureAwait(false);
            }
        }

        await importer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        return new CopyResult(screen.Rejected, stored, suppressed);
    }

    /// <summary>The Batch's usable addresses, for a Domain whose suppression list is longer than the Batch: read in a pass of their own.</summary>
    private static List<string> UsableAddresses(RecipientPayload recipients)
    {
        var addresses = new List<string>(recipients.Count);
        var recipient = new Protos.Mailer.Types.Recipient();
        for (var i = 0; i < recipients.Count; i++)
        {
            Read(recipients, i, recipient);
            if (recipient.Email.Trim() is var email && RecipientScreen.IsUsable(email))
            {
                addresses.Add(email);
            }
        }

        return addresses;
    }

    /// <summary>
    /// Reads recipient <paramref name="index"/>; one that is not well-formed protobuf, or holds a NUL (PostgreSQL stores
    /// none), is INVALID_ARGUMENT naming it. Read only now (ADR 0022): the rest of the request was decoded, and refused
    /// when malformed, before the call.
    /// </summary>
    private static void Read(RecipientPayload recipients, int index, Protos.Mailer.Types.Recipient recipient)
    {
        try
        {
            recipients.Read(index, recipient);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"recipients[{index}]: not a valid Recipient: {e.Message}"));
        }

        if (NulIn(recipient, index) is { } path)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"{path}: contains a NUL character (U+0000), which no text may hold"));
        }
    }

    /// <summary>The path of a recipient's first string holding a NUL, named as the request's NUL check names it; PostgreSQL stores no NUL.</summary>
    private static string? NulIn(Protos.Mailer.Types.Recipient recipient, int index)
    {
        if (recipient.Email.Contains('\0', StringComparison.Ordinal))
        {
            return $"recipients[{index}].email";
        }

        foreach (var (key, value) in recipient.Fields)
        {
            if (key.Contains('\0', StringComparison.Ordinal))
            {
                return $"recipients[{index}].fields (a key)";
            }

            if (value.Contains('\0', StringComparison.Ordinal))
            {
                return $"recipients[{index}].fields[\"{key}\"]";
            }
        }

        return null;
    }
}
