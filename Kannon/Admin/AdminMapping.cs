using Google.Protobuf.WellKnownTypes;
using Kannon.ApiKeys;
using Kannon.Domains;
using Kannon.Tracking;
using ProtoApiKey = Kannon.Protos.Admin.ApiV1.APIKey;
using ProtoDomain = Kannon.Protos.Admin.ApiV1.Domain;
using ProtoTemplate = Kannon.Protos.Admin.ApiV1.Template;
using ProtoTrackingMode = Kannon.Protos.Tracking.Types.TrackingMode;
using ProtoTrackingPolicy = Kannon.Protos.Tracking.Types.TrackingPolicy;
using Template = Kannon.Templates.Template;

namespace Kannon.Admin;

/// <summary>Domain values to and from the Admin API's wire messages: generated types stop here.</summary>
internal static class AdminMapping
{
    /// <summary>
    /// The stored name of a wire mode: null for UNSPECIFIED (states nothing); false for a number this
    /// version does not know (a newer client), which must be refused rather than guessed at.
    /// </summary>
    public static bool TryModeName(ProtoTrackingMode mode, out string? name) => TrackingModes.TryFromWire(mode, out name);

    public static ProtoDomain ToProto(DomainDetails domain) => new()
    {
        Domain_ = domain.Name,
        DkimPubKey = domain.DkimPublicKey,
        Tracking = new ProtoTrackingPolicy
        {
            // A stored name this version does not know (written by a newer one) shows as UNSPECIFIED rather than failing the call.
            Opens = TrackingModes.ToWire(domain.Tracking.Opens),
            Links = TrackingModes.ToWire(domain.Tracking.Links),
        },
        Unsubscribe = domain.Unsubscribe,
    };

    public static ProtoTemplate ToProto(Template template) => new()
    {
        TemplateId = template.TemplateId,
        Html = template.Html,
        Title = template.Title,
        Type = template.Type,
    };

    /// <summary>The key as every response but CreateAPIKey's <c>key</c> field shows it: masked, never hash or plaintext.</summary>
    public static ProtoApiKey ToProto(ApiKey key)
    {
        var proto = new ProtoApiKey
        {
            Id = key.Id,
            Key = ApiKeySecret.Mask(key.KeyPrefix),
            Name = key.Name,
            Domain = key.Domain,
            CreatedAt = Timestamp.FromDateTimeOffset(key.CreatedAt),
            IsActive = key.IsActive,
        };
        if (key.ExpiresAt is { } expiresAt)
        {
            proto.ExpiresAt = Timestamp.FromDateTimeOffset(expiresAt);
        }

        if (key.DeactivatedAt is { } deactivatedAt)
        {
            proto.DeactivatedAt = Timestamp.FromDateTimeOffset(deactivatedAt);
        }

        return proto;
    }
}
