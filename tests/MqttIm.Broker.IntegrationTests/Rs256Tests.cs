using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using MQTTnet;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>RS256: tokens signed by the configured private key are accepted, others refused; the CLI mints RS256 when it has the key.</summary>
public sealed class Rs256Tests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"mqttim-rs256-{Guid.NewGuid():N}");
    private BrokerProcess _broker = null!;

    private string PublicKey => Path.Combine(_directory, "public.pem");

    private string PrivateKey => Path.Combine(_directory, "private.pem");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        using var rsa = RSA.Create(2048);
        await File.WriteAllTextAsync(PublicKey, rsa.ExportSubjectPublicKeyInfoPem());
        await File.WriteAllTextAsync(PrivateKey, rsa.ExportPkcs8PrivateKeyPem());
        _broker = await BrokerProcess.StartAsync($"--Auth:Rs256PublicKeyPath={PublicKey}");
    }

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private static string Rs256Token(RSA key, string userId) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Subject = new ClaimsIdentity([new Claim("sub", userId)]),
        Issuer = "mqttim",
        Expires = DateTime.UtcNow.AddMinutes(10),
        SigningCredentials = new SigningCredentials(new RsaSecurityKey(key), SecurityAlgorithms.RsaSha256),
    });

    private async Task<MqttClientConnectResultCode> ConnectAsync(string user, string token)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        var result = await client.ConnectAsync(TestDevice.Options(_broker, user, token, user + "-" + Guid.NewGuid().ToString("N")[..6]).Build());
        if (client.IsConnected)
        {
            await client.DisconnectAsync();
        }

        return result.ResultCode;
    }

    [Fact]
    public async Task Rs256_FromTheConfiguredKey_IsAccepted_FromAnotherKey_Refused()
    {
        using var issuer = RSA.Create();
        issuer.ImportFromPem(await File.ReadAllTextAsync(PrivateKey));
        using var stranger = RSA.Create(2048);

        Assert.Equal(MqttClientConnectResultCode.Success, await ConnectAsync("rsuser", Rs256Token(issuer, "rsuser")));
        Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, await ConnectAsync("rsuser", Rs256Token(stranger, "rsuser")));
        // HS256 tokens of the broker's own secret keep working beside RS256.
        Assert.Equal(MqttClientConnectResultCode.Success, await ConnectAsync("hsuser", _broker.Token("hsuser")));
    }

    [Fact]
    public async Task Cli_WithThePrivateKey_MintsRs256Tokens()
    {
        var outcome = await ProcessRunner.RunAsync("dotnet",
            [RepoPaths.BrokerDll, "token", "clirs", $"--Auth:Rs256PrivateKeyPath={PrivateKey}", $"--Storage:DataDirectory={_broker.DataDirectory}", $"--Auth:Hs256Secret={_broker.Secret}"],
            TimeSpan.FromSeconds(60));

        Assert.Equal(0, outcome.ExitCode);
        var token = outcome.StdOut.Trim();
        Assert.Equal("RS256", new JsonWebToken(token).Alg);
        Assert.Equal(MqttClientConnectResultCode.Success, await ConnectAsync("clirs", token));
    }
}
