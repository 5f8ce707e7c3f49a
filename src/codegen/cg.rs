//! Small helpers over inkwell's builder. Every elementwise computation is done on vectors
//! (`<w x T>`, with `w = 1` allowed), so one code path serves chunks of any width.

use inkwell::builder::Builder;
use inkwell::context::Context;
use inkwell::intrinsics::Intrinsic;
use inkwell::module::Module;
use inkwell::types::{BasicTypeEnum, FloatType, VectorType};
use inkwell::values::{
    BasicMetadataValueEnum, BasicValue, FloatValue, FunctionValue, IntValue, PointerValue,
    VectorValue,
};
use inkwell::{AddressSpace, FloatPredicate};
use lamarrc_ir::DType;

pub type Res<T> = Result<T, String>;

pub fn llvm<T, E: std::fmt::Display>(r: Result<T, E>) -> Res<T> {
    r.map_err(|e| format!("LLVM builder: {e}"))
}

pub struct Cg<'ctx> {
    pub ctx: &'ctx Context,
    pub module: Module<'ctx>,
    pub b: Builder<'ctx>,
}

impl<'ctx> Cg<'ctx> {
    pub fn new(ctx: &'ctx Context, name: &str) -> Self {
        Cg {
            ctx,
            module: ctx.create_module(name),
            b: ctx.create_builder(),
        }
    }

    pub fn fty(&self, dt: DType) -> FloatType<'ctx> {
        match dt {
            DType::F32 => self.ctx.f32_type(),
            DType::F64 => self.ctx.f64_type(),
        }
    }

    pub fn vty(&self, dt: DType, w: u32) -> VectorType<'ctx> {
        self.fty(dt).vec_type(w)
    }

    pub fn ptr(&self) -> inkwell::types::PointerType<'ctx> {
        self.ctx.ptr_type(AddressSpace::default())
    }

    /// A function emitted once per library however many modules (shards) use it: each emits it
    /// in a COMDAT group of its name and the linker keeps one; hidden, so it is not exported.
    pub fn shared_function(
        &self,
        name: &str,
        ty: inkwell::types::FunctionType<'ctx>,
    ) -> FunctionValue<'ctx> {
        let func = self
            .module
            .add_function(name, ty, Some(inkwell::module::Linkage::LinkOnceODR));
        func.as_global_value()
            .set_visibility(inkwell::GlobalVisibility::Hidden);
        func.as_global_value()
            .set_comdat(self.module.get_or_insert_comdat(name));
        func
    }

    /// An LLVM enum attribute without a value (`noinline`, `noalias`, …).
    pub fn attribute(&self, name: &str) -> inkwell::attributes::Attribute {
        let kind = inkwell::attributes::Attribute::get_named_enum_kind_id(name);
        self.ctx.create_enum_attribute(kind, 0)
    }

    pub fn i64(&self, v: u64) -> IntValue<'ctx> {
        self.ctx.i64_type().const_int(v, false)
    }

    /// A constant vector with every lane `c`.
    pub fn splat(&self, dt: DType, w: u32, c: f64) -> VectorValue<'ctx> {
        let s = self.fty(dt).const_float(c);
        VectorType::const_vector(&vec![s; w as usize])
    }

    /// Broadcasts a scalar to `w` lanes.
    pub fn splat_val(&self, x: FloatValue<'ctx>, w: u32) -> Res<VectorValue<'ctx>> {
        let vt = x.get_type().vec_type(w);
        let undef = vt.get_poison();
        let zero = self.ctx.i32_type().const_zero();
        let one = llvm(self.b.build_insert_element(undef, x, zero, "bc"))?;
        let mask = VectorType::const_vector(&vec![zero; w as usize]);
        llvm(self.b.build_shuffle_vector(one, undef, mask, "splat"))
    }

    /// `base + index * sizeof(elem)` as a pointer.
    pub fn gep(
        &self,
        elem: BasicTypeEnum<'ctx>,
        base: PointerValue<'ctx>,
        index: IntValue<'ctx>,
    ) -> Res<PointerValue<'ctx>> {
        // SAFETY: indices are in bounds by construction (buffers and tables are sized from the IR).
        llvm(unsafe { self.b.build_in_bounds_gep(elem, base, &[index], "p") })
    }

    pub fn load_vec(
        &self,
        dt: DType,
        w: u32,
        base: PointerValue<'ctx>,
        index: IntValue<'ctx>,
    ) -> Res<VectorValue<'ctx>> {
        let p = self.gep(self.fty(dt).into(), base, index)?;
        let v = llvm(self.b.build_load(self.vty(dt, w), p, "ld"))?;
        // Align to the element only: offsets are arbitrary.
        if let Some(i) = v.as_instruction_value() {
            let _ = i.set_alignment(dt.size_bytes() as u32);
        }
        Ok(v.into_vector_value())
    }

    pub fn store_vec(
        &self,
        v: VectorValue<'ctx>,
        dt: DType,
        base: PointerValue<'ctx>,
        index: IntValue<'ctx>,
    ) -> Res<()> {
        let p = self.gep(self.fty(dt).into(), base, index)?;
        let s = llvm(self.b.build_store(p, v))?;
        let _ = s.set_alignment(dt.size_bytes() as u32);
        Ok(())
    }

    pub fn load_scalar(
        &self,
        dt: DType,
        base: PointerValue<'ctx>,
        index: IntValue<'ctx>,
    ) -> Res<FloatValue<'ctx>> {
        let p = self.gep(self.fty(dt).into(), base, index)?;
        Ok(llvm(self.b.build_load(self.fty(dt), p, "s"))?.into_float_value())
    }

    pub fn store_scalar(
        &self,
        v: FloatValue<'ctx>,
        dt: DType,
        base: PointerValue<'ctx>,
        index: IntValue<'ctx>,
    ) -> Res<()> {
        let p = self.gep(self.fty(dt).into(), base, index)?;
        llvm(self.b.build_store(p, v))?;
        Ok(())
    }

    /// Calls an overloaded LLVM intrinsic on vectors of one type.
    pub fn intrinsic(&self, name: &str, args: &[VectorValue<'ctx>]) -> Res<VectorValue<'ctx>> {
        let ty = args[0].get_type();
        let f = Intrinsic::find(name)
            .and_then(|i| i.get_declaration(&self.module, &[ty.into()]))
            .ok_or_else(|| format!("LLVM intrinsic {name} not found"))?;
        let a: Vec<BasicMetadataValueEnum> = args.iter().map(|v| (*v).into()).collect();
        let call = llvm(self.b.build_call(f, &a, "i"))?;
        Ok(call
            .try_as_basic_value()
            .basic()
            .ok_or("intrinsic returned void")?
            .into_vector_value())
    }

    /// Declares (once) an external scalar function `T name(T, ...)` (libm).
    pub fn extern_fn(&self, name: &str, dt: DType, arity: usize) -> FunctionValue<'ctx> {
        if let Some(f) = self.module.get_function(name) {
            return f;
        }
        let t = self.fty(dt);
        let params = vec![t.into(); arity];
        self.module
            .add_function(name, t.fn_type(&params, false), None)
    }

    /// Applies a scalar libm function lane by lane (for the rare functions we do not vectorise).
    pub fn map_libm(
        &self,
        name32: &str,
        name64: &str,
        dt: DType,
        args: &[VectorValue<'ctx>],
    ) -> Res<VectorValue<'ctx>> {
        let name = match dt {
            DType::F32 => name32,
            DType::F64 => name64,
        };
        let f = self.extern_fn(name, dt, args.len());
        let w = args[0].get_type().get_size();
        let mut out = args[0].get_type().get_poison();
        for lane in 0..w {
            let idx = self.ctx.i32_type().const_int(lane as u64, false);
            let mut a: Vec<BasicMetadataValueEnum> = Vec::with_capacity(args.len());
            for v in args {
                a.push(
                    llvm(self.b.build_extract_element(*v, idx, "e"))?
                        .into_float_value()
                        .into(),
                );
            }
            let r = llvm(self.b.build_call(f, &a, "m"))?
                .try_as_basic_value()
                .basic()
                .ok_or("libm call returned void")?;
            out = llvm(self.b.build_insert_element(out, r, idx, "ins"))?;
        }
        Ok(out)
    }

    pub fn fadd(&self, a: VectorValue<'ctx>, b: VectorValue<'ctx>) -> Res<VectorValue<'ctx>> {
        llvm(self.b.build_float_add(a, b, "add"))
    }
    pub fn fsub(&self, a: VectorValue<'ctx>, b: VectorValue<'ctx>) -> Res<VectorValue<'ctx>> {
        llvm(self.b.build_float_sub(a, b, "sub"))
    }
    pub fn fmul(&self, a: VectorValue<'ctx>, b: VectorValue<'ctx>) -> Res<VectorValue<'ctx>> {
        llvm(self.b.build_float_mul(a, b, "mul"))
    }
    pub fn fdiv(&self, a: VectorValue<'ctx>, b: VectorValue<'ctx>) -> Res<VectorValue<'ctx>> {
        llvm(self.b.build_float_div(a, b, "div"))
    }
    pub fn fneg(&self, a: VectorValue<'ctx>) -> Res<VectorValue<'ctx>> {
        llvm(self.b.build_float_neg(a, "neg"))
    }
    /// `a * b + c`, fused where the target has FMA.
    pub fn fma(
        &self,
        a: VectorValue<'ctx>,
        b: VectorValue<'ctx>,
        c: VectorValue<'ctx>,
    ) -> Res<VectorValue<'ctx>> {
        self.intrinsic("llvm.fmuladd", &[a, b, c])
    }
    pub fn cmp(
        &self,
        p: FloatPredicate,
        a: VectorValue<'ctx>,
        b: VectorValue<'ctx>,
    ) -> Res<VectorValue<'ctx>> {
        llvm(self.b.build_float_compare(p, a, b, "cmp"))
    }
    /// Lane-wise `c ? a : b`.
    pub fn select(
        &self,
        c: VectorValue<'ctx>,
        a: VectorValue<'ctx>,
        b: VectorValue<'ctx>,
    ) -> Res<VectorValue<'ctx>> {
        Ok(llvm(self.b.build_select(c, a, b, "sel"))?.into_vector_value())
    }
    /// Emits `body(offset, width)` over `len` elements in chunks of `chunk`, at the builder's
    /// position: a loop over the full chunks (unrolled when there are at most `unroll`) and one
    /// narrower tail.
    pub fn chunks(
        &self,
        len: usize,
        chunk: u32,
        unroll: usize,
        mut body: impl FnMut(IntValue<'ctx>, u32) -> Res<()>,
    ) -> Res<()> {
        let chunk = chunk.max(1);
        let full = len / chunk as usize;
        let tail = (len % chunk as usize) as u32;
        if full <= unroll {
            for c in 0..full {
                body(self.i64((c * chunk as usize) as u64), chunk)?;
            }
        } else {
            let pre = self.b.get_insert_block().ok_or("no block")?;
            let func = pre.get_parent().ok_or("block outside a function")?;
            let head = self.ctx.append_basic_block(func, "chunk");
            let done = self.ctx.append_basic_block(func, "chunk.done");
            llvm(self.b.build_unconditional_branch(head))?;
            self.b.position_at_end(head);
            let i = llvm(self.b.build_phi(self.ctx.i64_type(), "c"))?;
            let iv = i.as_basic_value().into_int_value();
            let offset = llvm(self.b.build_int_mul(iv, self.i64(chunk as u64), "off"))?;
            body(offset, chunk)?;
            let next = llvm(self.b.build_int_add(iv, self.i64(1), "next"))?;
            let cont = llvm(self.b.build_int_compare(
                inkwell::IntPredicate::ULT,
                next,
                self.i64(full as u64),
                "more",
            ))?;
            let latch = self.b.get_insert_block().ok_or("no block")?;
            llvm(self.b.build_conditional_branch(cont, head, done))?;
            i.add_incoming(&[(&self.i64(0), pre), (&next, latch)]);
            self.b.position_at_end(done);
        }
        if tail > 0 {
            body(self.i64((full * chunk as usize) as u64), tail)?;
        }
        Ok(())
    }

    /// `max(a, b)` that keeps a NaN `a` (lanes where `a > b` is false take `b` unless `a` is NaN).
    pub fn max_nan(&self, a: VectorValue<'ctx>, b: VectorValue<'ctx>) -> Res<VectorValue<'ctx>> {
        let lt = self.cmp(FloatPredicate::OLT, a, b)?;
        self.select(lt, b, a)
    }
    pub fn min_nan(&self, a: VectorValue<'ctx>, b: VectorValue<'ctx>) -> Res<VectorValue<'ctx>> {
        let gt = self.cmp(FloatPredicate::OGT, a, b)?;
        self.select(gt, b, a)
    }
}
