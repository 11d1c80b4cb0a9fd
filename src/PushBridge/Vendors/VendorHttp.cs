using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace MqttIm.PushBridge.Vendors;

/// <summary>HTTP plumbing shared by the vendor clients: the connection handler and Retry-After parsing.</summary>
internal static class VendorHttp
{
    /// <summary>
    /// A pooled handler (HTTP/2 when the server offers it). With <see cref="PushOptions.TrustedCertificatePath"/> set, that one
    /// certificate is accepted besides the system's trust (tests start fake vendors with a self-signed certificate).
    /// </summary>
    public static SocketsHttpHandler CreateHandler(PushOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(30),
            KeepAlivePingDelay = TimeSpan.FromMinutes(1),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            // A server's stream limit (APNs: 1,000; FCM and HMS behind their own) opens another connection instead of
            // queueing every request beyond it.
            EnableMultipleHttp2Connections = true,
        };
        if (options.TrustedCertificatePath.Length > 0)
        {
            var trusted = X509CertificateLoader.LoadCertificateFromFile(options.TrustedCertificatePath);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                errors == SslPolicyErrors.None || (certificate is not null && certificate.GetCertHashString() == trusted.GetCertHashString());
        }

        return handler;
    }

    /// <summary>Retry-After as seconds or an HTTP date, if present.</summary>
    public static TimeSpan? RetryAfterOf(HttpResponseMessage response, TimeProvider time)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - time.GetUtcNow();
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }

    public static bool IsRetryable(HttpStatusCode status) => status == HttpStatusCode.TooManyRequests || (int)status >= 500;

    public static AuthenticationHeaderValue Bearer(string token) => new("Bearer", token);
}
