using Google.Protobuf;
using Google.Protobuf.Reflection;
using Kannon.Protos.Admin.ApiV1;
using Kannon.Protos.Mailer.ApiV1;
using Kannon.Protos.Mailer.Types;
using Kannon.Protos.Stats.ApiV1;
using Kannon.Protos.Stats.ApiV2;
using Kannon.Protos.Stats.Types;
using Kannon.Protos.Suppression.ApiV1;
using Kannon.Protos.Tracking.Types;
using Timestamp = Google.Protobuf.WellKnownTypes.Timestamp;

namespace Kannon.Tests.Protos;

// The wire contract of the original Kannon (docs UPSTREAM.md §7, HEAD): SDKs generated from the
// original protos must work against us unchanged. The expected tables below are transcribed from
// UPSTREAM.md, not from our .proto files; a field is written "<number> <name>: <label type>".
public sealed class WireContractTests
{
    private const string Ts = "google.protobuf.Timestamp";
    private const string Policy = "pkg.kannon.tracking.types.TrackingPolicy";

    private static readonly FileDescriptor[] OriginalFiles =
    [
        TrackingReflection.Descriptor,
        SendReflection.Descriptor,
        EmailReflection.Descriptor,
        Mailerapiv1Reflection.Descriptor,
        Adminapiv1Reflection.Descriptor,
        HzReflection.Descriptor,
        StatsReflection.Descriptor,
        Statsapiv1Reflection.Descriptor,
        Statsapiv2Reflection.Descriptor,
    ];

    private static readonly TypeRegistry Registry = TypeRegistry.FromFiles(OriginalFiles);

    private static readonly Dictionary<string, string[]> Messages = new()
    {
        // mailer/apiv1
        ["pkg.kannon.mailer.apiv1.Attachment"] = ["1 filename: string", "2 content: bytes"],
        ["pkg.kannon.mailer.apiv1.SendHTMLReq"] =
        [
            "1 sender: pkg.kannon.mailer.types.Sender",
            "3 subject: string",
            "4 html: string",
            $"5 scheduled_time: opt {Ts}",
            "6 recipients: repeated pkg.kannon.mailer.types.Recipient",
            "7 attachments: repeated pkg.kannon.mailer.apiv1.Attachment",
            "8 global_fields: map<string,string>",
            "9 headers: opt pkg.kannon.mailer.types.Headers",
            $"10 tracking: opt {Policy}",
            "11 one_click_unsubscribe: opt pkg.kannon.mailer.types.OneClickUnsubscribe",
        ],
        ["pkg.kannon.mailer.apiv1.SendTemplateReq"] =
        [
            "1 sender: pkg.kannon.mailer.types.Sender",
            "3 subject: string",
            "4 template_id: string",
            $"5 scheduled_time: opt {Ts}",
            "6 recipients: repeated pkg.kannon.mailer.types.Recipient",
            "7 attachments: repeated pkg.kannon.mailer.apiv1.Attachment",
            "8 global_fields: map<string,string>",
            "9 headers: opt pkg.kannon.mailer.types.Headers",
            $"10 tracking: opt {Policy}",
            "11 one_click_unsubscribe: opt pkg.kannon.mailer.types.OneClickUnsubscribe",
        ],
        ["pkg.kannon.mailer.apiv1.SendRes"] =
        [
            "1 message_id: string",
            "2 template_id: string",
            $"3 scheduled_time: {Ts}",
            "4 accepted_count: int32",
            "5 rejected_count: int32",
            "6 rejected_recipients: repeated pkg.kannon.mailer.apiv1.RejectedRecipient",
        ],
        ["pkg.kannon.mailer.apiv1.RejectedRecipient"] = ["1 email: string", "2 reason: string"],

        // mailer/types
        ["pkg.kannon.mailer.types.Sender"] = ["1 email: string", "2 alias: string"],
        ["pkg.kannon.mailer.types.Recipient"] =
            ["1 email: string", "2 fields: map<string,string>", $"3 tracking: opt {Policy}"],
        ["pkg.kannon.mailer.types.Headers"] = ["1 to: repeated string", "2 cc: repeated string"],
        ["pkg.kannon.mailer.types.OneClickUnsubscribe"] = ["1 url_template: string"],
        ["pkg.kannon.mailer.types.EmailToSend"] =
        [
            "1 email_id: string",
            "2 from: string",
            "3 to: string",
            "4 return_path: string",
            "5 body: bytes",
            "6 should_retry: bool",
        ],

        // tracking/types
        ["pkg.kannon.tracking.types.TrackingPolicy"] =
            ["1 opens: pkg.kannon.tracking.types.TrackingMode", "2 links: pkg.kannon.tracking.types.TrackingMode"],

        // admin/apiv1
        ["pkg.kannon.admin.apiv1.GetDomainsReq"] = [],
        ["pkg.kannon.admin.apiv1.GetDomainsResponse"] = ["1 domains: repeated pkg.kannon.admin.apiv1.Domain"],
        ["pkg.kannon.admin.apiv1.GetDomainReq"] = ["1 domain: string"],
        ["pkg.kannon.admin.apiv1.GetDomainRes"] = ["1 domain: pkg.kannon.admin.apiv1.Domain"],
        ["pkg.kannon.admin.apiv1.CreateDomainRequest"] = ["1 domain: string"],
        // Field 5 is ours (issue 11), appended: the original's fields keep their numbers and an old client skips it.
        ["pkg.kannon.admin.apiv1.Domain"] = ["1 domain: string", "3 dkim_pub_key: string", $"4 tracking: {Policy}", "5 unsubscribe: string"],
        ["pkg.kannon.admin.apiv1.SetTrackingPolicyReq"] = ["1 domain: string", $"2 tracking: {Policy}"],
        ["pkg.kannon.admin.apiv1.SetTrackingPolicyRes"] = ["1 domain: pkg.kannon.admin.apiv1.Domain"],
        // Ours (issue 11): new messages beside the original ones, no original message changed.
        ["pkg.kannon.admin.apiv1.SetUnsubscribePolicyReq"] = ["1 domain: string", "2 unsubscribe: string"],
        ["pkg.kannon.admin.apiv1.SetUnsubscribePolicyRes"] = ["1 domain: pkg.kannon.admin.apiv1.Domain"],
        ["pkg.kannon.admin.apiv1.Template"] =
            ["1 template_id: string", "2 html: string", "3 title: string", "4 type: string"],
        ["pkg.kannon.admin.apiv1.CreateTemplateReq"] = ["1 html: string", "2 title: string", "3 domain: string"],
        ["pkg.kannon.admin.apiv1.CreateTemplateRes"] = ["1 template: pkg.kannon.admin.apiv1.Template"],
        ["pkg.kannon.admin.apiv1.UpdateTemplateReq"] = ["1 template_id: string", "2 html: string", "3 title: string"],
        ["pkg.kannon.admin.apiv1.UpdateTemplateRes"] = ["1 template: pkg.kannon.admin.apiv1.Template"],
        ["pkg.kannon.admin.apiv1.DeleteTemplateReq"] = ["1 template_id: string"],
        ["pkg.kannon.admin.apiv1.DeleteTemplateRes"] = ["1 template: pkg.kannon.admin.apiv1.Template"],
        ["pkg.kannon.admin.apiv1.GetTemplateReq"] = ["1 template_id: string"],
        ["pkg.kannon.admin.apiv1.GetTemplateRes"] = ["1 template: pkg.kannon.admin.apiv1.Template"],
        ["pkg.kannon.admin.apiv1.GetTemplatesReq"] = ["1 domain: string", "2 skip: uint32", "3 take: uint32"],
        ["pkg.kannon.admin.apiv1.GetTemplatesRes"] =
            ["1 templates: repeated pkg.kannon.admin.apiv1.Template", "2 total: uint32"],
        ["pkg.kannon.admin.apiv1.APIKey"] =
        [
            "1 id: string",
            "2 key: string",
            "3 name: string",
            "4 domain: string",
            $"5 created_at: {Ts}",
            $"6 expires_at: {Ts}",
            "7 is_active: bool",
            $"8 deactivated_at: {Ts}",
        ],
        ["pkg.kannon.admin.apiv1.CreateAPIKeyRequest"] = ["1 domain: string", "2 name: string", $"3 expires_at: {Ts}"],
        ["pkg.kannon.admin.apiv1.CreateAPIKeyResponse"] = ["1 api_key: pkg.kannon.admin.apiv1.APIKey", "2 key: string"],
        ["pkg.kannon.admin.apiv1.ListAPIKeysRequest"] =
            ["1 domain: string", "2 only_active: bool", "3 limit: int32", "4 offset: int32"],
        ["pkg.kannon.admin.apiv1.ListAPIKeysResponse"] =
            ["1 api_keys: repeated pkg.kannon.admin.apiv1.APIKey", "2 total: int32"],
        ["pkg.kannon.admin.apiv1.GetAPIKeyRequest"] = ["1 domain: string", "2 id: string"],
        ["pkg.kannon.admin.apiv1.GetAPIKeyResponse"] = ["1 api_key: pkg.kannon.admin.apiv1.APIKey"],
        ["pkg.kannon.admin.apiv1.DeactivateAPIKeyRequest"] = ["1 domain: string", "2 id: string"],
        ["pkg.kannon.admin.apiv1.DeactivateAPIKeyResponse"] = ["1 api_key: pkg.kannon.admin.apiv1.APIKey"],
        ["pkg.kannon.admin.apiv1.HZRequest"] = [],
        ["pkg.kannon.admin.apiv1.HZResponse"] = ["1 result: map<string,string>"],

        // stats/apiv1 (package `kannon`) and stats/apiv2
        ["kannon.GetStatsReq"] =
        [
            "1 domain: string",
            $"2 from_date: {Ts}",
            $"3 to_date: {Ts}",
            "4 skip: uint32",
            "5 take: uint32",
        ],
        ["kannon.GetStatsRes"] = ["1 total: int64", "2 stats: repeated pkg.kannon.stats.types.Stats"],
        ["kannon.GetStatsAggregatedReq"] = ["1 domain: string", $"2 from_date: {Ts}", $"3 to_date: {Ts}"],
        ["kannon.GetStatsAggregatedRes"] = ["1 stats: repeated pkg.kannon.stats.types.StatsAggregated"],
        ["kannon.stats.apiv2.GetAggregatedStatsReq"] = ["1 domain: string", $"2 from_date: {Ts}", $"3 to_date: {Ts}"],
        ["kannon.stats.apiv2.GetAggregatedStatsRes"] = ["1 stats: repeated pkg.kannon.stats.types.StatsAggregated"],

        // stats/types
        ["pkg.kannon.stats.types.StatsAggregated"] = ["1 type: string", $"2 timestamp: {Ts}", "3 count: int64"],
        ["pkg.kannon.stats.types.Stats"] =
        [
            "1 message_id: string",
            "2 domain: string",
            "3 email: string",
            $"4 timestamp: {Ts}",
            "5 type: string",
            "6 data: pkg.kannon.stats.types.StatsData",
            "7 tracking_mode: pkg.kannon.tracking.types.TrackingMode",
        ],
        ["pkg.kannon.stats.types.StatsData"] =
        [
            "1 accepted: oneof data pkg.kannon.stats.types.StatsDataAccepted",
            "2 delivered: oneof data pkg.kannon.stats.types.StatsDataDelivered",
            "3 failed: oneof data pkg.kannon.stats.types.StatsDataFailed",
            "4 bounced: oneof data pkg.kannon.stats.types.StatsDataBounced",
            "5 opened: oneof data pkg.kannon.stats.types.StatsDataOpened",
            "6 clicked: oneof data pkg.kannon.stats.types.StatsDataClicked",
            "7 rejected: oneof data pkg.kannon.stats.types.StatsDataRejected",
            "8 error: oneof data pkg.kannon.stats.types.StatsDataError",
        ],
        ["pkg.kannon.stats.types.StatsDataAccepted"] = [],
        ["pkg.kannon.stats.types.StatsDataDelivered"] = [],
        ["pkg.kannon.stats.types.StatsDataFailed"] = ["1 reason: string"],
        ["pkg.kannon.stats.types.StatsDataBounced"] = ["1 permanent: bool", "2 code: uint32", "3 msg: string"],
        ["pkg.kannon.stats.types.StatsDataOpened"] = ["1 user_agent: string", "2 ip: string"],
        ["pkg.kannon.stats.types.StatsDataClicked"] = ["1 user_agent: string", "2 ip: string", "3 url: string"],
        ["pkg.kannon.stats.types.StatsDataRejected"] = ["1 reason: string"],
        ["pkg.kannon.stats.types.StatsDataError"] = ["1 code: uint32", "2 msg: string"],
    };

    public static TheoryData<string> MessageNames => new(Messages.Keys);

    [Theory]
    [MemberData(nameof(MessageNames))]
    public void Every_original_message_has_the_original_field_numbers_names_labels_and_types(string fullName)
    {
        var descriptor = Registry.Find(fullName);

        descriptor.Should().NotBeNull($"{fullName} is part of the original wire contract");
        Describe(descriptor!).Should().Equal(Messages[fullName]);
    }

    [Fact]
    public void The_original_files_declare_exactly_the_messages_of_the_table()
    {
        var declared = OriginalFiles.SelectMany(f => f.MessageTypes).Select(m => m.FullName);

        declared.Should().BeEquivalentTo(Messages.Keys);
    }

    [Fact]
    public void Send_res_fields_have_the_original_numbers()
    {
        var fields = SendRes.Descriptor;

        fields.FindFieldByName("message_id").FieldNumber.Should().Be(1);
        fields.FindFieldByName("template_id").FieldNumber.Should().Be(2);
        fields.FindFieldByName("scheduled_time").FieldNumber.Should().Be(3);
        fields.FindFieldByName("accepted_count").FieldNumber.Should().Be(4);
        fields.FindFieldByName("rejected_count").FieldNumber.Should().Be(5);
        fields.FindFieldByName("rejected_recipients").FieldNumber.Should().Be(6);
    }

    [Fact]
    public void Field_2_is_reserved_in_send_html_req_send_template_req_and_domain()
    {
        ReservedNumbers(SendHTMLReq.Descriptor).Should().Equal(2);
        ReservedNumbers(SendTemplateReq.Descriptor).Should().Equal(2);
        ReservedNumbers(Kannon.Protos.Admin.ApiV1.Domain.Descriptor).Should().Equal(2);
    }

    [Fact]
    public void No_original_field_carries_options()
    {
        var withOptions = OriginalFiles
            .Select(f => FileDescriptorProto.Parser.ParseFrom(f.SerializedData))
            .SelectMany(f => f.MessageType)
            .SelectMany(m => m.Field.Select(field => (Message: m.Name, Field: field)))
            .Where(x => x.Field.Options is not null || x.Field.HasJsonName && x.Field.JsonName != ToCamel(x.Field.Name))
            .Select(x => $"{x.Message}.{x.Field.Name}");

        withOptions.Should().BeEmpty();
    }

    [Fact]
    public void Hz_proto_is_proto2_and_every_other_original_file_is_proto3()
    {
        foreach (var file in OriginalFiles)
        {
            var syntax = FileDescriptorProto.Parser.ParseFrom(file.SerializedData).Syntax;
            if (file.Name == "kannon/admin/apiv1/hz.proto")
            {
                syntax.Should().BeOneOf("", "proto2");
            }
            else
            {
                syntax.Should().Be("proto3", file.Name);
            }
        }
    }

    [Fact]
    public void Original_files_keep_the_original_proto_packages()
    {
        OriginalFiles.ToDictionary(f => f.Name, f => f.Package).Should().BeEquivalentTo(new Dictionary<string, string>
        {
            ["kannon/tracking/types/tracking.proto"] = "pkg.kannon.tracking.types",
            ["kannon/mailer/types/send.proto"] = "pkg.kannon.mailer.types",
            ["kannon/mailer/types/email.proto"] = "pkg.kannon.mailer.types",
            ["kannon/mailer/apiv1/mailerapiv1.proto"] = "pkg.kannon.mailer.apiv1",
            ["kannon/admin/apiv1/adminapiv1.proto"] = "pkg.kannon.admin.apiv1",
            ["kannon/admin/apiv1/hz.proto"] = "pkg.kannon.admin.apiv1",
            ["kannon/stats/types/stats.proto"] = "pkg.kannon.stats.types",
            ["kannon/stats/apiv1/statsapiv1.proto"] = "kannon",
            ["kannon/stats/apiv2/statsapiv2.proto"] = "kannon.stats.apiv2",
        });
    }

    [Fact]
    public void Tracking_mode_has_the_original_values()
    {
        var values = TrackingReflection.Descriptor.FindTypeByName<EnumDescriptor>("TrackingMode").Values;

        values.Select(v => $"{v.Number} {v.Name}").Should().Equal(
            "0 TRACKING_MODE_UNSPECIFIED",
            "1 TRACKING_MODE_OFF",
            "2 TRACKING_MODE_ANONYMOUS",
            "3 TRACKING_MODE_PSEUDONYMOUS",
            "4 TRACKING_MODE_IDENTIFIED",
            "5 TRACKING_MODE_FULL");
    }

    [Fact]
    public void Stats_data_keeps_its_variants_in_the_oneof_named_data()
    {
        var oneofs = StatsData.Descriptor.Oneofs;

        oneofs.Should().ContainSingle();
        oneofs[0].Name.Should().Be("data");
        oneofs[0].Fields.Select(f => f.Name).Should().Equal(
            "accepted", "delivered", "failed", "bounced", "opened", "clicked", "rejected", "error");
    }

    [Fact]
    public void Mailer_service_has_the_original_name_and_methods()
    {
        Kannon.Protos.Mailer.ApiV1.Mailer.Descriptor.FullName.Should().Be("pkg.kannon.mailer.apiv1.Mailer");
        Describe(Kannon.Protos.Mailer.ApiV1.Mailer.Descriptor).Should().Equal(
            "SendHTML(pkg.kannon.mailer.apiv1.SendHTMLReq) returns (pkg.kannon.mailer.apiv1.SendRes)",
            "SendTemplate(pkg.kannon.mailer.apiv1.SendTemplateReq) returns (pkg.kannon.mailer.apiv1.SendRes)");
    }

    [Fact]
    public void Admin_api_service_has_the_original_name_and_methods()
    {
        const string P = "pkg.kannon.admin.apiv1";

        Kannon.Protos.Admin.ApiV1.Api.Descriptor.FullName.Should().Be("pkg.kannon.admin.apiv1.Api");
        Describe(Kannon.Protos.Admin.ApiV1.Api.Descriptor).Should().Equal(
            $"GetDomains({P}.GetDomainsReq) returns ({P}.GetDomainsResponse)",
            $"GetDomain({P}.GetDomainReq) returns ({P}.GetDomainRes)",
            $"CreateDomain({P}.CreateDomainRequest) returns ({P}.Domain)",
            $"SetTrackingPolicy({P}.SetTrackingPolicyReq) returns ({P}.SetTrackingPolicyRes)",
            $"CreateTemplate({P}.CreateTemplateReq) returns ({P}.CreateTemplateRes)",
            $"UpdateTemplate({P}.UpdateTemplateReq) returns ({P}.UpdateTemplateRes)",
            $"DeleteTemplate({P}.DeleteTemplateReq) returns ({P}.DeleteTemplateRes)",
            $"GetTemplate({P}.GetTemplateReq) returns ({P}.GetTemplateRes)",
            $"GetTemplates({P}.GetTemplatesReq) returns ({P}.GetTemplatesRes)",
            $"CreateAPIKey({P}.CreateAPIKeyRequest) returns ({P}.CreateAPIKeyResponse)",
            $"ListAPIKeys({P}.ListAPIKeysRequest) returns ({P}.ListAPIKeysResponse)",
            $"GetAPIKey({P}.GetAPIKeyRequest) returns ({P}.GetAPIKeyResponse)",
            $"DeactivateAPIKey({P}.DeactivateAPIKeyRequest) returns ({P}.DeactivateAPIKeyResponse)",
            // Ours (issue 11), appended after the original methods.
            $"SetUnsubscribePolicy({P}.SetUnsubscribePolicyReq) returns ({P}.SetUnsubscribePolicyRes)");
    }

    [Fact]
    public void Stats_api_v1_service_lives_in_package_kannon()
    {
        StatsApiV1.Descriptor.FullName.Should().Be("kannon.StatsApiV1");
        Describe(StatsApiV1.Descriptor).Should().Equal(
            "GetStats(kannon.GetStatsReq) returns (kannon.GetStatsRes)",
            "GetStatsAggregated(kannon.GetStatsAggregatedReq) returns (kannon.GetStatsAggregatedRes)");
    }

    [Fact]
    public void Stats_api_v2_service_has_the_original_name_and_method()
    {
        StatsApiV2.Descriptor.FullName.Should().Be("kannon.stats.apiv2.StatsApiV2");
        Describe(StatsApiV2.Descriptor).Should().Equal(
            "GetAggregatedStats(kannon.stats.apiv2.GetAggregatedStatsReq) returns (kannon.stats.apiv2.GetAggregatedStatsRes)");
    }

    [Fact]
    public void Hz_service_has_the_original_name_and_method()
    {
        HZService.Descriptor.FullName.Should().Be("pkg.kannon.admin.apiv1.HZService");
        Describe(HZService.Descriptor).Should().Equal(
            "HZ(pkg.kannon.admin.apiv1.HZRequest) returns (pkg.kannon.admin.apiv1.HZResponse)");
    }

    [Fact]
    public void Our_own_bounce_and_suppression_contracts_keep_their_documented_names()
    {
        Kannon.Protos.Bounce.Types.Bounce.Descriptor.FullName.Should().Be("kannon.bounce.types.Bounce");
        Describe(Kannon.Protos.Bounce.Types.Bounce.Descriptor).Should().Equal(
            "1 message_id: string",
            "2 email: string",
            "3 domain: string",
            "4 kind: kannon.bounce.types.BounceKind",
            "5 action: string",
            "6 status: string",
            "7 diagnostic: string",
            "8 reporting_mta: string",
            $"9 arrived_at: {Ts}",
            "10 report_sha256: bytes");

        const string P = "kannon.suppression.apiv1";
        SuppressionApi.Descriptor.FullName.Should().Be($"{P}.SuppressionApi");
        Describe(SuppressionApi.Descriptor).Should().Equal(
            $"List({P}.ListSuppressionsReq) returns ({P}.ListSuppressionsRes)",
            $"Get({P}.GetSuppressionReq) returns ({P}.Suppression)",
            $"Add({P}.AddSuppressionReq) returns ({P}.Suppression)",
            $"Remove({P}.RemoveSuppressionReq) returns ({P}.RemoveSuppressionRes)");
    }

    [Fact]
    public void Send_res_bytes_carry_the_original_tags()
    {
        var res = new SendRes
        {
            MessageId = "msg_1@example.com",
            TemplateId = "tpl_1",
            ScheduledTime = new Timestamp { Seconds = 1_700_000_000 },
            AcceptedCount = 3,
            RejectedCount = 1,
            RejectedRecipients = { new RejectedRecipient { Email = "bad@", Reason = "invalid_email" } },
        };

        // Read the bytes back tag by tag, as any protobuf runtime would, without our descriptors.
        var fields = ReadFields(res.ToByteString());

        fields.Select(f => (f.Number, f.WireType)).Should().Equal(
            (1, WireFormat.WireType.LengthDelimited),
            (2, WireFormat.WireType.LengthDelimited),
            (3, WireFormat.WireType.LengthDelimited),
            (4, WireFormat.WireType.Varint),
            (5, WireFormat.WireType.Varint),
            (6, WireFormat.WireType.LengthDelimited));
        fields[0].Bytes!.ToStringUtf8().Should().Be("msg_1@example.com");
        fields[1].Bytes!.ToStringUtf8().Should().Be("tpl_1");
        ReadFields(fields[2].Bytes!).Should().ContainSingle()
            .Which.Should().Be(new WireField(1, WireFormat.WireType.Varint, 1_700_000_000, null));
        fields[3].Varint.Should().Be(3);
        fields[4].Varint.Should().Be(1);

        var rejected = ReadFields(fields[5].Bytes!);
        rejected.Select(f => (f.Number, f.WireType, f.Bytes!.ToStringUtf8())).Should().Equal(
            (1, WireFormat.WireType.LengthDelimited, "bad@"),
            (2, WireFormat.WireType.LengthDelimited, "invalid_email"));
    }

    [Fact]
    public void Send_html_req_written_by_hand_with_original_tags_parses_into_our_type()
    {
        // What a client generated from the original protos puts on the wire.
        var bytes = Encode(w =>
        {
            Nested(w, 1, s => Text(s, 1, "news@example.com"));
            Text(w, 3, "Hello");
            Text(w, 4, "<p>Hi</p>");
            Nested(w, 6, r =>
            {
                Text(r, 1, "ann@example.org");
                Nested(r, 2, e => { Text(e, 1, "name"); Text(e, 2, "Ann"); });
                Nested(r, 3, t => Varint(t, 1, 4));
            });
            Nested(w, 8, e => { Text(e, 1, "brand"); Text(e, 2, "Acme"); });
            Nested(w, 9, h => { Text(h, 1, "ann@example.org"); Text(h, 2, "boss@example.org"); });
            Nested(w, 10, t => { Varint(t, 1, 1); Varint(t, 2, 5); });
            Nested(w, 11, u => Text(u, 1, "https://example.com/u?e={{ email }}"));
        });

        var req = SendHTMLReq.Parser.ParseFrom(bytes);

        req.Sender.Email.Should().Be("news@example.com");
        req.Subject.Should().Be("Hello");
        req.Html.Should().Be("<p>Hi</p>");
        req.Recipients.Should().ContainSingle();
        req.Recipients[0].Email.Should().Be("ann@example.org");
        req.Recipients[0].Fields.Should().Contain("name", "Ann");
        req.Recipients[0].Tracking.Opens.Should().Be(TrackingMode.Identified);
        req.GlobalFields.Should().Contain("brand", "Acme");
        req.Headers.To.Should().Equal("ann@example.org");
        req.Headers.Cc.Should().Equal("boss@example.org");
        req.Tracking.Opens.Should().Be(TrackingMode.Off);
        req.Tracking.Links.Should().Be(TrackingMode.Full);
        req.OneClickUnsubscribe.UrlTemplate.Should().Be("https://example.com/u?e={{ email }}");
        req.CalculateSize().Should().Be(bytes.Length, "no field fell into the unknown set");
    }

    private static List<string> Describe(MessageDescriptor message) =>
        message.Fields.InFieldNumberOrder().Select(f => $"{f.FieldNumber} {f.Name}: {Label(f)}").ToList();

    private static List<string> Describe(ServiceDescriptor service) =>
        service.Methods
            .Select(m =>
            {
                m.IsClientStreaming.Should().BeFalse();
                m.IsServerStreaming.Should().BeFalse();
                return $"{m.Name}({m.InputType.FullName}) returns ({m.OutputType.FullName})";
            })
            .ToList();

    private static string Label(FieldDescriptor field)
    {
        if (field.IsMap)
        {
            var entry = field.MessageType;
            return $"map<{TypeName(entry.FindFieldByNumber(1))},{TypeName(entry.FindFieldByNumber(2))}>";
        }

        if (field.IsRepeated)
        {
            return $"repeated {TypeName(field)}";
        }

        if (field.ContainingOneof is { } oneof)
        {
            return oneof.IsSynthetic ? $"opt {TypeName(field)}" : $"oneof {oneof.Name} {TypeName(field)}";
        }

        return TypeName(field);
    }

    private static string TypeName(FieldDescriptor field) => field.FieldType switch
    {
        FieldType.Message => field.MessageType.FullName,
        FieldType.Enum => field.EnumType.FullName,
        FieldType.String => "string",
        FieldType.Bytes => "bytes",
        FieldType.Bool => "bool",
        FieldType.Int32 => "int32",
        FieldType.Int64 => "int64",
        FieldType.UInt32 => "uint32",
        FieldType.UInt64 => "uint64",
        _ => field.FieldType.ToString(),
    };

    private static List<int> ReservedNumbers(MessageDescriptor message)
    {
        var file = FileDescriptorProto.Parser.ParseFrom(message.File.SerializedData);
        return file.MessageType.Single(m => m.Name == message.Name).ReservedRange
            .SelectMany(r => Enumerable.Range(r.Start, r.End - r.Start))
            .ToList();
    }

    private static string ToCamel(string snake)
    {
        var parts = snake.Split('_');
        return parts[0] + string.Concat(parts.Skip(1).Select(p => p.Length == 0 ? p : char.ToUpperInvariant(p[0]) + p[1..]));
    }

    private static List<WireField> ReadFields(ByteString bytes)
    {
        var fields = new List<WireField>();
        var input = new CodedInputStream(bytes.ToByteArray());
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            var number = WireFormat.GetTagFieldNumber(tag);
            var wireType = WireFormat.GetTagWireType(tag);
            fields.Add(wireType switch
            {
                WireFormat.WireType.Varint => new WireField(number, wireType, input.ReadUInt64(), null),
                WireFormat.WireType.LengthDelimited => new WireField(number, wireType, 0, input.ReadBytes()),
                _ => throw new InvalidOperationException($"unexpected wire type {wireType} for field {number}"),
            });
        }

        return fields;
    }

    private static byte[] Encode(Action<CodedOutputStream> write)
    {
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        write(output);
        output.Flush();
        return buffer.ToArray();
    }

    private static void Text(CodedOutputStream output, int number, string value)
    {
        output.WriteTag(number, WireFormat.WireType.LengthDelimited);
        output.WriteString(value);
    }

    private static void Varint(CodedOutputStream output, int number, ulong value)
    {
        output.WriteTag(number, WireFormat.WireType.Varint);
        output.WriteUInt64(value);
    }

    private static void Nested(CodedOutputStream output, int number, Action<CodedOutputStream> write)
    {
        output.WriteTag(number, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(Encode(write)));
    }

    private sealed record WireField(int Number, WireFormat.WireType WireType, ulong Varint, ByteString? Bytes);
}
