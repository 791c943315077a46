using Grpc.Core;

namespace Kannon.Admin;

/// <summary>The Admin API's refusals: a status code and a message that names the field and says what to fix.</summary>
internal static class AdminErrors
{
    public static RpcException InvalidArgument(string field, string problem) =>
        new(new Status(StatusCode.InvalidArgument, $"{field}: {problem}"));

    /// <summary>The domain field as given when it is a valid domain name, else INVALID_ARGUMENT naming the problem.</summary>
    public static string ValidDomain(string domain) =>
        Domains.DomainName.Problem(domain) is { } problem ? throw InvalidArgument("domain", problem) : domain;

    public static RpcException NotFound(string what) =>
        new(new Status(StatusCode.NotFound, $"{what} not found"));

    public static RpcException AlreadyExists(string what) =>
        new(new Status(StatusCode.AlreadyExists, $"{what} already exists"));

    public static RpcException FailedPrecondition(string message) =>
        new(new Status(StatusCode.FailedPrecondition, message));
}
