using Google.Protobuf.Collections;
using Grpc.Core;
using Kannon.Api;
using Kannon.Protos.Mailer.ApiV1;
using Kannon.Protos.Mailer.Types;
using Kannon.Tracking;
using MimeKit;
using Wire = Kannon.Protos.Mailer.ApiV1;

namespace Kannon.Mailer;

/// <summary>
/// <c>pkg.kannon.mailer.apiv1.Mailer</c>: SendHTML and SendTemplate. Authentication is the API-key
/// interceptor's; this checks the request, maps it to a <see cref="SendCommand"/> and stores it.
/// </summary>
internal sealed class MailerService(BatchIntake intake, TimeProvider time) : Wire.Mailer.MailerBase
{
    public override Task<SendRes> SendHTML(SendHTMLReq request, ServerCallContext context)
    {
        if (string.IsNullOrWhiteSpace(request.Html))
        {
            throw Invalid("html: required");
        }

        return SendAsync(Map(context, request.Sender, request.Subject, request.Html, null, request.ScheduledTime,
            RecipientPayloadExtensions.RecipientsOf(request, request.Recipients), request.GlobalFields, request.Attachments, request.Headers, request.Tracking), context);
    }

    public override Task<SendRes> SendTemplate(SendTemplateReq request, ServerCallContext context)
    {
        if (string.IsNullOrWhiteSpace(request.TemplateId))
        {
            throw Invalid("template_id: required");
        }

        return SendAsync(Map(context, request.Sender, request.Subject, null, request.TemplateId.Trim(), request.ScheduledTime,
            RecipientPayloadExtensions.RecipientsOf(request, request.Recipients), request.GlobalFields, request.Attachments, request.Headers, request.Tracking), context);
    }

    private async Task<SendRes> SendAsync(SendCommand command, ServerCallContext context)
    {
        // An unreachable database becomes UNAVAILABLE in DatabaseUnavailableInterceptor; the transaction rolled back, nothing is stored.
        SendResult result;
        try
        {
            result = await intake.AcceptAsync(command, context.CancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Intake read every recipient it will ever read (each into strings of its own): their buffer can serve the next call.
            command.Recipients.Release();
        }

        var response = new SendRes
        {
            MessageId = result.MessageId,
            TemplateId = result.TemplateId,
            ScheduledTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(result.ScheduledTime),
            AcceptedCount = result.AcceptedCount,
            RejectedCount = result.Rejected.Count,
        };
        response.RejectedRecipients.AddRange(result.Rejected.Select(r => new Wire.RejectedRecipient { Email = r.Email, Reason = r.Reason }));
        return response;
    }

    private SendCommand Map(
        ServerCallContext context,
        Protos.Mailer.Types.Sender? sender,
        string subject,
        string? html,
        string? templateId,
        Google.Protobuf.WellKnownTypes.Timestamp? scheduled,
        RecipientPayload recipients,
        MapField<string, string> globalFields,
        RepeatedField<Attachment> attachments,
        Headers? headers,
        Protos.Tracking.Types.TrackingPolicy? tracking)
    {
        var domain = context.GetAuthenticatedSender().Domain;
        if (subject.Contains('\r') || subject.Contains('\n'))
        {
            throw Invalid("subject: must not contain CR or LF");
        }

        if (sender is null || string.IsNullOrWhiteSpace(sender.Email))
        {
            throw Invalid("sender.email: required");
        }

        if (sender.Alias.Contains('\r') || sender.Alias.Contains('\n'))
        {
            throw Invalid("sender.alias: must not contain CR or LF");
        }

        if (sender.Alias.Length > 100)
        {
            throw Invalid("sender.alias: at most 100 characters");
        }

        var senderEmail = sender.Email.Trim();
        if (!IsAddress(senderEmail))
        {
            throw Invalid($"sender.email: '{senderEmail}' is not an email address");
        }

        var senderDomain = senderEmail[(senderEmail.LastIndexOf('@') + 1)..].ToLowerInvariant();
        if (senderDomain != domain && !domain.EndsWith("." + senderDomain, StringComparison.Ordinal))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied,
                $"sender domain '{senderDomain}' is not authorized for domain '{domain}': send from {domain} or a parent of it"));
        }

        if (recipients.Count == 0)
        {
            throw Invalid("recipients: at least one recipient is required");
        }

        var to = ValidateHeaderList(headers?.To, "headers.to");
        var cc = ValidateHeaderList(headers?.Cc, "headers.cc");
        var files = new List<(string, byte[])>(attachments.Count);
        foreach (var attachment in attachments)
        {
            if (string.IsNullOrWhiteSpace(attachment.Filename) || attachment.Filename.Length > 255
                || attachment.Filename.Any(char.IsControl))
            {
                throw Invalid("attachments.filename: required, at most 255 characters, no control characters");
            }

            files.Add((attachment.Filename, attachment.Content.ToByteArray()));
        }

        var when = scheduled is null ? time.GetUtcNow() : ToTime(scheduled);
        return new SendCommand(
            domain,
            senderEmail,
            sender.Alias,
            subject,
            html,
            templateId,
            when,
            recipients,
            globalFields,
            files,
            to,
            cc,
            ToPolicy(tracking, "tracking"));
    }

    private static DateTimeOffset ToTime(Google.Protobuf.WellKnownTypes.Timestamp timestamp)
    {
        try
        {
            return timestamp.ToDateTimeOffset();
        }
        catch (InvalidOperationException)
        {
            throw Invalid("scheduled_time: not a valid timestamp");
        }
    }

    private static TrackingPolicy ToPolicy(Protos.Tracking.Types.TrackingPolicy? policy, string field)
    {
        if (policy is null)
        {
            return TrackingPolicy.Unstated;
        }

        if (!TrackingModes.TryFromWire(policy.Opens, out var opens))
        {
            throw Invalid($"{field}.opens: unknown tracking mode {(int)policy.Opens}");
        }

        if (!TrackingModes.TryFromWire(policy.Links, out var links))
        {
            throw Invalid($"{field}.links: unknown tracking mode {(int)policy.Links}");
        }

        return new TrackingPolicy(opens, links);
    }

    private static List<string> ValidateHeaderList(RepeatedField<string>? values, string field)
    {
        var list = new List<string>();
        foreach (var value in values ?? [])
        {
            var address = value.Trim();
            if (!IsAddress(address))
            {
                throw Invalid($"{field}: '{value}' is not an email address");
            }

            list.Add(address);
        }

        return list;
    }

    private static bool IsAddress(string value) =>
        value.Length <= 320
        && !value.Any(c => char.IsControl(c) || char.IsWhiteSpace(c))
        && MailboxAddress.TryParse(value, out var mailbox)
        && mailbox.Address == value
        && value.Count(c => c == '@') == 1
        && value.IndexOf('@') > 0
        && value.IndexOf('@') < value.Length - 1;

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
