namespace Kannon.Api;

internal static class GrpcMethod
{
    /// <summary>The full service name of a call's method path, <c>/pkg.kannon.admin.apiv1.Api/GetDomains</c> → <c>pkg.kannon.admin.apiv1.Api</c>.</summary>
    public static string ServiceOf(string method)
    {
        var end = method.LastIndexOf('/');
        return end > 0 ? method[1..end] : "";
    }
}
