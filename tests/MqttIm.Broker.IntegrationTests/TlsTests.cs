using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>MQTT over TLS from a configured PFX certificate (a self-signed one made by the test).</summary>
public sealed class TlsTests : IAsyncLifetime
{
    private readonly string _pfx = Path.Combine(Path.GetTempPath(), $"mqttim-tls-{Guid.NewGuid():N}.pfx");
    private BrokerProcess _broker = null!;

    public async Task InitializeAsync()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        await File.WriteAllBytesAsync(_pfx, certificate.Export(X509ContentType.Pfx, "pw"));
        _broker = await BrokerProcess.StartAsync("--Listen:MqttTlsPort=0", "--Listen:HttpsPort=0", $"--Listen:CertificatePath={_pfx}", "--Listen:CertificatePassword=pw");
    }

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        File.Delete(_pfx);
    }

    [Fact]
    public async Task TlsAndWss_ChatLikeTcp_AndPlainTextIsNotAccepted()
    {
        Assert.NotEqual(0, _broker.MqttTlsPort);
        var options = TestDevice.Options(_broker, "tlsuser", _broker.Token("tlsuser"), "tlsuser-1")
            .WithTcpServer("127.0.0.1", _broker.MqttTlsPort)
            .WithTlsOptions(o => o.UseTls().WithCertificateValidationHandler(_ => true))
            .Build();
        using var client = new MqttClientFactory().CreateMqttClient();
        var connected = await client.ConnectAsync(options);
        Assert.Equal(MqttClientConnectResultCode.Success, connected.ResultCode);
        var ack = await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("im/c2c/peer").WithPayload("{\"text\":\"over tls\"}")
            .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build());
        Assert.Equal("1", ack.Property("seq"));
        await client.DisconnectAsync();

        // The same over secure WebSocket.
        using var wss = new MqttClientFactory().CreateMqttClient();
        var wssOptions = TestDevice.Options(_broker, "tlsuser", _broker.Token("tlsuser"), "tlsuser-3", transport: Transport.WebSocket)
            .WithWebSocketServer(o => o.WithUri($"wss://127.0.0.1:{_broker.HttpsPort}/mqtt"))
            .WithTlsOptions(o => o.UseTls().WithCertificateValidationHandler(_ => true))
            .Build();
        Assert.Equal(MqttClientConnectResultCode.Success, (await wss.ConnectAsync(wssOptions)).ResultCode);
        await wss.DisconnectAsync();

        // Plain MQTT on the TLS port gets no CONNACK.
        using var plain = new MqttClientFactory().CreateMqttClient();
        var plainOptions = TestDevice.Options(_broker, "tlsuser", _broker.Token("tlsuser"), "tlsuser-2")
            .WithTcpServer("127.0.0.1", _broker.MqttTlsPort).WithTimeout(TimeSpan.FromSeconds(3)).Build();
        await Assert.ThrowsAnyAsync<Exception>(() => plain.ConnectAsync(plainOptions));
    }
}
