using Reinforce.IO.Onnx;

namespace Reinforce.Tests.Export;

public class OnnxGraphBuilderTests
{
    [Fact]
    public void A_hand_built_gemm_softmax_argmax_graph_runs_in_onnx_runtime_with_the_expected_values()
    {
        // y = softmax(tanh(x · Wᵀ + b)), action = argmax(y)
        float[] w = [1f, -2f, 0.5f, 3f, 0.25f, -1f]; // [2 out, 3 in]
        float[] b = [0.1f, -0.2f];
        var g = new OnnxGraphBuilder("test");
        g.AddInput("x", OnnxGraphBuilder.Float32, null, 3);
        g.AddInitializer("W", w, 2, 3);
        g.AddInitializer("b", b, 2);
        g.AddNode("Gemm", ["x", "W", "b"], ["h"], ("transB", 1L));
        g.AddNode("Tanh", ["h"], ["t"]);
        g.AddNode("Softmax", ["t"], ["probs"], ("axis", -1L));
        g.AddNode("ArgMax", ["probs"], ["action"], ("axis", -1L), ("keepdims", 0L));
        g.AddOutput("probs", OnnxGraphBuilder.Float32, null, 2);
        g.AddOutput("action", OnnxGraphBuilder.Int64, [null]);
        var path = Path.Combine(Path.GetTempPath(), $"reinforce-test-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, g.Build());

        float[] x = [0.5f, -1f, 2f, -0.3f, 0.2f, 0.1f, 1f, 1f, 1f, 0f, 0f, 0f];
        var outputs = OnnxRuntime.Run(path, new Dictionary<string, (int[], float[])> { ["x"] = ([4, 3], x) });
        File.Delete(path);
        var (dims, probs) = outputs["probs"];
        Assert.Equal([4L, 2L], dims);
        var actions = outputs["action"].Data;
        for (int r = 0; r < 4; r++)
        {
            double h0 = Math.Tanh(x[r * 3] * w[0] + x[r * 3 + 1] * w[1] + x[r * 3 + 2] * w[2] + b[0]);
            double h1 = Math.Tanh(x[r * 3] * w[3] + x[r * 3 + 1] * w[4] + x[r * 3 + 2] * w[5] + b[1]);
            double p0 = 1 / (1 + Math.Exp(h1 - h0));
            Assert.Equal(p0, probs[r * 2], 1e-6);
            Assert.Equal(1 - p0, probs[r * 2 + 1], 1e-6);
            Assert.Equal(p0 >= 0.5 ? 0 : 1, actions[r]);
        }
    }
}
